import { z } from 'zod';

/** Which CSV column holds the class: a header name, a 1-based column number, or "last". */
export const labelColumnSchema = z.union([z.literal('last'), z.number().int().min(1), z.string().min(1)]);
export type LabelColumn = z.infer<typeof labelColumnSchema>;

/** How a dataset is read, beyond where it is: each field has a CLI flag of the same meaning. */
export const datasetOptionsSchema = z
  .object({
    labelColumn: labelColumnSchema.optional().describe('CSV: the label column: a header name, a 1-based column number, or "last"'),
    imageSize: z
      .tuple([z.number().int().min(1).max(1024), z.number().int().min(1).max(1024)])
      .optional()
      .describe('image folders: [height, width] every image is resized to (default: the most common size)'),
    channels: z.union([z.literal(1), z.literal(3)]).optional().describe('image folders: 1 (grey) or 3 (RGB); default: from the images'),
    skipBadImages: z.boolean().optional().describe('image folders: skip (and list) images that do not decode, instead of stopping'),
  })
  .strict();
export type DatasetOptions = z.infer<typeof datasetOptionsSchema>;

/** A dataset as a space or the CLI names it: "mnist", "idx:DIR", "csv:FILE", "images:DIR", or that with options. */
export const datasetSpecSchema = z.union([
  z.string().min(1),
  datasetOptionsSchema.extend({ source: z.string().min(1).describe('mnist, idx:DIR, csv:FILE or images:DIR') }).strict(),
]);
export type DatasetSpec = z.infer<typeof datasetSpecSchema>;

/** A spec as its source and options. */
export function datasetRequest(spec: DatasetSpec): { source: string; options: DatasetOptions } {
  if (typeof spec === 'string') return { source: spec, options: {} };
  const { source, ...options } = spec;
  return { source, options };
}

/** A --label-column value: "last", a column number, or a name. */
export function parseLabelColumn(text: string): LabelColumn {
  const t = text.trim();
  if (t === 'last') return 'last';
  return /^\d+$/.test(t) && Number(t) >= 1 ? Number(t) : t;
}

/** What an experiment records of its dataset, for the report: where it came from, its shape and its classes. */
export const datasetInfoSchema = z.object({
  source: z.string(),
  inputShape: z.array(z.number().int().positive()),
  numClasses: z.number().int().min(2),
  /** Class names by index, where the data has them (image folders). */
  classNames: z.array(z.string()).optional(),
  trainN: z.number().int().min(0),
  testN: z.number().int().min(0),
});
export type DatasetInfo = z.infer<typeof datasetInfoSchema>;
