/**
 * The import rules of kdsearch (DESIGN.md, "Parts and where they live"),
 * checked by `npm test`: imports run core <- space / datasets <- model <-
 * distill <- runtime <- commands / web; search and store see only core
 * and space; tfjs, SQLite and HTTP stay in their folders (rule 9).
 */
const layer = (name, allowed, why) => ({
  name: `${name}-imports`,
  comment: why,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...allowed.map((a) => `^src/${a}/`)] },
});

module.exports = {
  forbidden: [
    layer('core', [], 'core holds the shared shapes and knows nothing else of kdsearch'),
    layer('space', ['core'], 'the search space knows no model, dataset, store or search'),
    layer('datasets', ['core'], 'datasets know nothing of models or spaces'),
    layer('model', ['core', 'space', 'datasets'], 'models know nothing of training, search, the store or the runtime'),
    layer('distill', ['core', 'space', 'datasets', 'model'], 'training knows nothing of search, the store or the runtime'),
    layer('search', ['core', 'space'], 'controllers and Pareto sorting see only the space and the stored history'),
    layer('store', ['core', 'space'], 'the store knows no tfjs-side types'),
    layer('runtime', ['core', 'space', 'datasets', 'model', 'distill', 'search', 'store'], 'the runtime knows nothing of HTTP or the CLI'),
    layer('web', ['core', 'space', 'model', 'search', 'store'], 'the report reads the store; it never trains or runs trials'),
    {
      name: 'tfjs-only-in-model-and-distill',
      comment: 'DESIGN.md rule 9: tfjs only in src/model/ and src/distill/ (the worker reaches it through distill)',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/model/', '^src/distill/'] },
      to: { path: '@tensorflow/' },
    },
    {
      name: 'wasm-kernels-only-in-model-and-distill',
      comment: 'the wasm training kernels are tfjs: DESIGN.md rule 9 holds for them as for tfjs',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/model/', '^src/distill/'] },
      to: { path: '^packages/wasm-train-kernels/' },
    },
    {
      name: 'wasm-kernels-through-their-index',
      comment: "kdsearch uses the kernels package's public API (register, capabilities, the op wrappers), never its files",
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^packages/wasm-train-kernels/', pathNot: '^packages/wasm-train-kernels/dist/src/index\\.(js|d\\.ts)$' },
    },
    {
      name: 'wasm-kernels-know-no-kdsearch',
      comment: 'the kernels package stands alone: it never imports kdsearch',
      severity: 'error',
      from: { path: '^packages/wasm-train-kernels/' },
      to: { path: '^(src|test|bench)/' },
    },
    {
      name: 'onnxruntime-only-in-model',
      comment: 'teachers and exports in ONNX are read and run by src/model/ alone',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/model/' },
      to: { path: 'node_modules/(onnxruntime-node|onnx-proto)/' },
    },
    {
      name: 'sql-only-in-store',
      comment: 'DESIGN.md rule 9: SQL lives only in src/store/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: 'better-sqlite3' },
    },
    {
      name: 'http-only-in-web',
      comment: 'DESIGN.md rule 9: HTTP only in src/web/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/web/' },
      to: { path: ['node_modules/(express|ejs)/', '^(node:)?https?$'] },
    },
    {
      name: 'queue-only-in-runtime-queue-files',
      comment: 'BullMQ and its Redis client stay in the distributed executor (src/runtime/queue-*.ts); the search loop sees only the executor seam',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/runtime/queue-[a-z-]+\\.ts$' },
      to: { path: 'node_modules/(bullmq|ioredis)/' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle makes load order matter and hides which part depends on which',
      severity: 'error',
      from: { path: '^(src|packages/[^/]+/src)/' },
      to: { circular: true },
    },
    {
      name: 'src-never-imports-tests-or-benches',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
