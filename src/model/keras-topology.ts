/** One layer of a Keras (TF.js) topology as model.toJSON writes it. */
export interface KerasLayer {
  class_name: string;
  config: Record<string, unknown> & { name?: string };
}

/** The layers of a Sequential topology, or undefined when it has no layer list. */
export function kerasLayers(topology: Record<string, unknown>): KerasLayer[] | undefined {
  const layers = (topology as { config?: { layers?: unknown } }).config?.layers;
  return Array.isArray(layers) ? (layers as KerasLayer[]) : undefined;
}

/** A Keras size attribute (kernel_size, strides, pool_size, dilation_rate) as [rows, columns]. */
export function sizePair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0]), Number(value[1])];
  return value === undefined ? [fallback, fallback] : [Number(value), Number(value)];
}
