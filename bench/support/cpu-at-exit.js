// Preloaded (node -r) into a process whose CPU time bench:queue reports: writes it as JSON to $BENCH_CPU_FILE at exit.
process.on('exit', () => {
  const u = process.cpuUsage();
  require('node:fs').writeFileSync(process.env.BENCH_CPU_FILE, JSON.stringify({ userMs: u.user / 1000, systemMs: u.system / 1000 }));
});
