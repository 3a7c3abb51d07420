/**
 * The package's error: a code and a message, as kdsearch's own KdError. The
 * codes are names kdsearch's error table also has, so an error that crosses
 * a worker boundary (where `instanceof` is lost) is still recognised by code.
 */
export type KernelErrorCode =
  /** a kernel was called outside its preconditions: a bug in its caller */
  | 'INTERNAL'
  /** the installed tfjs is not the version whose private fields the kernels read */
  | 'BACKEND_UNAVAILABLE';

export class KernelError extends Error {
  readonly code: KernelErrorCode;

  constructor(code: KernelErrorCode, message: string) {
    super(message);
    this.name = 'KernelError';
    this.code = code;
  }
}
