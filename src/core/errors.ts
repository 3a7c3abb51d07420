/**
 * The one error type of kdsearch. Codes form a closed table so that errors
 * crossing a worker boundary (where `instanceof` is lost) are recognised by code.
 */
export const ERROR_CODES = {
  USAGE: 'a command-line flag or argument is wrong',
  SPEC_INVALID: 'a student spec does not match the schema',
  SPACE_INVALID: 'a search-space file does not match the schema',
  DATASET_MALFORMED: 'a dataset file is malformed',
  DATASET_NOT_FOUND: 'a dataset file or folder does not exist',
  TEACHER_MISMATCH: 'the teacher does not fit the dataset',
  TEACHER_INVALID: 'the teacher model cannot be loaded',
  BACKEND_UNAVAILABLE: 'the requested compute backend cannot be loaded',
  TRIAL_DIVERGED: 'training produced a non-finite loss',
  TRIAL_TIMEOUT: 'a trial exceeded its time limit',
  TRIAL_OUT_OF_MEMORY: 'a trial exceeded its memory limit',
  TRIAL_CRASHED: 'a trial threw an unexpected error',
  TRIAL_WORKER_LOST: 'the worker running a queued trial died or went silent more times than allowed',
  TRIAL_PRUNED: 'a trial was stopped at a rung: not among the best of its rung when the search ended',
  QUEUE_UNREACHABLE: 'the Redis server named by --queue cannot be reached, or stopped answering',
  QUEUE_JOB_REFUSED: "a worker refused a queue job: its schema or kdsearch version is not the worker's",
  QUEUE_DATA_MISSING: "a queue job's data is not in Redis, or its bytes do not match their hash",
  STORE_CORRUPT: 'data read back from the store does not match its schema',
  EXPERIMENT_NOT_FOUND: 'no experiment of that name',
  EXPERIMENT_CONFLICT: 'the experiment exists with different settings',
  INTERRUPTED: 'the run was interrupted',
  INTERNAL: 'a bug in kdsearch',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class KdError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'KdError';
    this.code = code;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** Recognises a KdError by its code, also after structured cloning across threads. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (isErrorCode(code)) return code;
  }
  return undefined;
}

/** Formats a zod issue list as "path: message" lines, for messages that name the field. */
export function formatIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
      return `  - ${path}: ${issue.message}`;
    })
    .join('\n');
}
