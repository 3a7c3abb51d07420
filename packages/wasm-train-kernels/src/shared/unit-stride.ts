/**
 * Whether a stride or dilation (one number, one per spatial axis, or unset,
 * as tfjs and Keras configs write them) is 1 on every axis.
 */
export function isUnit(v: unknown): boolean {
  return v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
}
