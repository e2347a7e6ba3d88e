// The operator page's client: fetches /operator/data and draws it with chart.js (served beside it).
/* global Chart */
'use strict';

(function () {
  var MINUTES = 60;
  var COLOURS = ['#1b6ac9', '#c0392b', '#7d3c98', '#b9770e', '#117a65', '#5d6d7e', '#a04000', '#1f618d', '#6c3483'];
  var charts = {};

  function time(ms) {
    return new Date(ms).toISOString().slice(11, 16);
  }

  function datasets(byName) {
    return Object.keys(byName).map(function (name, i) {
      return { label: name, data: byName[name], backgroundColor: COLOURS[i % COLOURS.length], borderColor: COLOURS[i % COLOURS.length] };
    });
  }

  function draw(id, labels, sets) {
    if (charts[id] === undefined) {
      charts[id] = new Chart(document.getElementById(id), {
        type: 'bar',
        data: { labels: labels, datasets: sets },
        options: { animation: false, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      });
      return;
    }
    charts[id].data.labels = labels;
    charts[id].data.datasets = sets;
    charts[id].update();
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  function rows(id, items) {
    var body = document.getElementById(id);
    body.replaceChildren();
    items.forEach(function (values) {
      var row = document.createElement('tr');
      values.forEach(function (value) { cell(row, String(value)); });
      body.appendChild(row);
    });
    if (items.length === 0) {
      var row = document.createElement('tr');
      cell(row, 'none yet');
      body.appendChild(row);
    }
  }

  function seconds(s) {
    return s === null ? '-' : s < 120 ? Math.round(s) + ' s' : (s / 60).toFixed(1) + ' min';
  }

  function totals(report) {
    var list = document.getElementById('totals');
    list.replaceChildren();
    [['requests', report.requests], ['402', report.statuses['402']], ['401', report.statuses['401']], ['503', report.statuses['503']],
      ['recoveries', report.recoveries.count], ['median to recover', seconds(report.recoveries.medianSeconds)],
      ['5xx authorizer', report.serverErrors.authorizer], ['5xx integration', report.serverErrors.integration]].forEach(function (pair) {
      var item = document.createElement('div');
      var term = document.createElement('dt');
      var value = document.createElement('dd');
      term.textContent = pair[0];
      value.textContent = String(pair[1]);
      value.setAttribute('data-figure', pair[0]);
      item.appendChild(term);
      item.appendChild(value);
      list.appendChild(item);
    });
  }

  function render(data) {
    var labels = data.series.buckets.map(time);
    draw('outcomes', labels, datasets(data.series.outcomes));
    draw('reasons', labels, datasets(data.series.deniedByReason));
    draw('recoveries', labels, datasets({ recoveries: data.series.recoveries }));
    totals(data.report);
    rows('recovery-rows', Object.keys(data.report.recoveries.byReason).map(function (reason) {
      var r = data.report.recoveries.byReason[reason];
      return [reason, r.count, seconds(r.medianSeconds)];
    }));
    rows('customer-rows', data.report.topDeniedCustomers.map(function (c) { return [c.customerId, c.denials]; }));
    rows('tool-rows', Object.keys(data.report.toolCalls).map(function (tool) {
      var c = data.report.toolCalls[tool];
      return [tool, c.allowed, c.denied, c.unauthorized, c.failed];
    }));
    document.getElementById('agent-challenges').textContent = String(data.report.agentPurchases.challenged);
    rows('agent-rows', Object.keys(data.report.agentPurchases.byProtocol).map(function (protocol) {
      var p = data.report.agentPurchases.byProtocol[protocol];
      var refused = Object.keys(p.refused).map(function (type) { return type + ' ' + p.refused[type]; }).join(', ');
      return [protocol, p.paid, p.firstSuccess, seconds(p.medianSecondsToFirstSuccess), refused === '' ? '-' : refused];
    }));
    document.getElementById('status').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
    document.body.setAttribute('data-loaded', 'true');
  }

  function refresh() {
    fetch('/operator/data?minutes=' + MINUTES, { cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('the admin server answered ' + response.status);
        return response.json();
      })
      .then(render)
      .catch(function (err) {
        document.getElementById('status').textContent = 'could not load the figures: ' + err.message;
      });
  }

  document.getElementById('minutes').textContent = String(MINUTES);
  refresh();
  setInterval(refresh, 5000);
})();
