import { sampleCandidate } from '../../space/sample';
import type { Controller } from '../types';
import { propose } from './propose';

/** Uniform sampling: the baseline every other controller is measured against. */
export const randomController: Controller = {
  name: 'random',
  ask: (input) => propose(input, () => sampleCandidate(input.space, input.spaceContext, input.rng)),
};
