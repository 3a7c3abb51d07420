// The WebAssembly JS API as kdsearch uses it. Node has it at run time, but
// neither lib ES2022 nor @types/node 20 declares it (lib.dom does, and would
// bring the whole DOM into a Node project).
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
