import { KdError } from '../../core/errors';
import type { Controller } from '../types';
import { evolutionController } from './evolution';
import { nsga2Controller } from './nsga2';
import { randomController } from './random';

export const CONTROLLER_NAMES = ['random', 'evolution', 'nsga2'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

export function createController(name: ControllerName): Controller {
  switch (name) {
    case 'random':
      return randomController;
    case 'evolution':
      return evolutionController();
    case 'nsga2':
      return nsga2Controller();
    default:
      throw new KdError('USAGE', `unknown controller "${name as string}"; expected ${CONTROLLER_NAMES.join(', ')}`);
  }
}
