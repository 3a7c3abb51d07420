/** Where a command's progress lines go (stderr in the CLI, a buffer in tests). */
export type Log = (line: string) => void;
