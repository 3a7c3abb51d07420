/* The trial page: learning curves per epoch. */
(function () {
  'use strict';
  const canvas = document.getElementById('curve-chart');
  if (!canvas) return;
  const curve = JSON.parse(document.getElementById('curve-data').textContent);
  const line = (label, key, colour, axis) => ({ label, data: curve.map((r) => ({ x: r.epoch, y: r[key] })), borderColor: colour, backgroundColor: colour, yAxisID: axis, tension: 0.2 });
  new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        line('training loss', 'loss', '#2563eb', 'loss'),
        line('KD loss (KL at T)', 'kdLoss', '#7c3aed', 'loss'),
        line('cross-entropy', 'ceLoss', '#0891b2', 'loss'),
        line('test accuracy', 'valAccuracy', '#d9480f', 'acc'),
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: true,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { stepSize: 1 } },
        loss: { position: 'left', title: { display: true, text: 'loss' } },
        acc: { position: 'right', title: { display: true, text: 'accuracy' }, grid: { drawOnChartArea: false } },
      },
    },
  });
})();
