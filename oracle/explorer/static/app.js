// The PoQ explorer page: hash routes over the JSON API, drawn with the DOM and inline SVG (no libraries).
// Chain data (outputs, task text) is untrusted: it only ever enters the page as text nodes, never as HTML.
"use strict";

const POLL_MS = 1500;
const WEI_PER_ETH = 10n ** 18n;
const COLORS = { inference: "#2f6fde", evaluator: "#1f9d74", compensation: "#b7791f", refund: "#c3c9d4", payout: "#2f6fde",
  slash: "#d64545" };
let renderedGeneration = null; // the index's generation the view was drawn from; redraw when it moves
let renderSeq = 0; // a render applies only if no newer one started meanwhile

// ------------------------------------------------------------------ helpers

async function api(path) {
  const res = await fetch(path, { cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${path}: HTTP ${res.status}`);
  return body;
}

// el("td", {class: "x", dataset: {wei: "1"}}, child, "text", ...): children are nodes or text.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Wei (a decimal string) as ETH with 6 decimals, truncated: exact digits, no float rounding.
function formatEth(wei) {
  const v = BigInt(wei);
  const sign = v < 0n ? "-" : "";
  const a = v < 0n ? -v : v;
  const frac = ((a % WEI_PER_ETH) / 10n ** 12n).toString().padStart(6, "0");
  return `${sign}${a / WEI_PER_ETH}.${frac}`;
}

function eth(wei) {
  if (wei === null || wei === undefined) return el("span", { class: "muted" }, "—");
  return el("span", { class: "eth", title: `${wei} wei`, dataset: { wei } }, formatEth(wei));
}

const ethNumber = (wei) => Number(BigInt(wei)) / 1e18;
const wadNumber = (wad) => Number(BigInt(wad)) / 1e18;

function wad(value, digits = 3) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "—");
  return el("span", { class: "wad", title: `${value} / 1e18`, dataset: { wad: value } }, wadNumber(value).toFixed(digits));
}

const short = (hex) => `${hex.slice(0, 6)}…${hex.slice(-4)}`;

function nodeLink(address, name) {
  return el("a", { href: `#/nodes/${address}`, class: "node", title: address, dataset: { address } },
    name ? el("span", { class: "name" }, name) : null, el("span", { class: "mono" }, short(address)));
}

function txLink(entry) {
  if (!entry) return el("span", { class: "muted" }, "—");
  return el("span", { class: "txref" },
    el("a", { href: `#/tx/${entry.tx}`, class: "mono", title: entry.tx, dataset: { tx: entry.tx } }, short(entry.tx)),
    el("span", { class: "block", title: "block" }, `#${entry.block}`));
}

function stageBadge(stage) {
  return el("span", { class: `badge stage-${stage.toLowerCase()}` }, stage);
}

function card(label, ...value) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, ...value));
}

function table(headers, rows, attrs) {
  return el("div", { class: "scroll" }, el("table", attrs || {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", typeof h === "string" ? {} : h[1], typeof h === "string" ? h : h[0])))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted empty" }, "none")))));
}

const num = (...children) => el("td", { class: "num" }, ...children);

// ------------------------------------------------------------------ chart

// Stacked bars, one per category: series = [{name, color, values: [Number]}], labels = [String].
function barChart(labels, series, unit) {
  const NS = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs, ...kids) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    for (const kid of kids) n.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return n;
  };
  const W = 960, H = 240, left = 64, right = 12, top = 12, bottom = 34;
  const totals = labels.map((_, i) => series.reduce((s, ser) => s + ser.values[i], 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - left - right, plotH = H - top - bottom;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `${series.map((s) => s.name).join(", ")} per round (${unit})` });
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4, y = top + plotH - (plotH * t) / 4;
    svg.append(svgEl("line", { x1: left, x2: W - right, y1: y, y2: y, class: "grid" }));
    svg.append(svgEl("text", { x: left - 8, y: y + 4, class: "tick", "text-anchor": "end" }, formatTick(v)));
  }
  svg.append(svgEl("text", { x: 12, y: top + plotH / 2, class: "axis", transform: `rotate(-90 12 ${top + plotH / 2})`,
    "text-anchor": "middle" }, unit));
  const slot = plotW / Math.max(labels.length, 1);
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const every = Math.ceil(labels.length / 24);
  labels.forEach((label, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    let y = top + plotH;
    for (const ser of series) {
      const h = max > 0 ? (plotH * ser.values[i]) / max : 0;
      if (h > 0) {
        y -= h;
        svg.append(svgEl("rect", { x, y, width: barW, height: h, fill: ser.color, class: "bar" },
          svgEl("title", {}, `round ${label} · ${ser.name}: ${ser.values[i].toFixed(6)} ${unit}`)));
      }
    }
    if (i % every === 0) {
      svg.append(svgEl("text", { x: x + barW / 2, y: H - bottom + 16, class: "tick", "text-anchor": "middle" }, label));
    }
  });
  svg.append(svgEl("text", { x: left + plotW / 2, y: H - 2, class: "axis", "text-anchor": "middle" }, "round"));
  const legend = el("div", { class: "legend" }, series.map((s) =>
    el("span", {}, el("i", { style: `background:${s.color}` }), s.name)));
  return el("figure", { class: "chart-box" }, svg, legend);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function formatTick(v) {
  return v === 0 ? "0" : v < 0.01 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

// ------------------------------------------------------------------ views

async function viewRounds() {
  const { rounds } = await api("/api/rounds");
  const settled = rounds.filter((r) => r.paid_wei !== null);
  const totalPaid = settled.reduce((s, r) => s + BigInt(r.paid_wei), 0n).toString();
  const totalBudget = rounds.reduce((s, r) => s + BigInt(r.budget_wei), 0n).toString();
  const chart = settled.length ? barChart(settled.map((r) => String(r.id)), [
    { name: "inference payouts", color: COLORS.inference, values: settled.map((r) => ethNumber(r.inference_paid_wei)) },
    { name: "evaluator payouts", color: COLORS.evaluator, values: settled.map((r) => ethNumber(r.evaluator_paid_wei)) },
    { name: "compensation (forfeited pools)", color: COLORS.compensation, values: settled.map((r) => ethNumber(r.compensated_wei)) },
    { name: "refund to requester", color: COLORS.refund, values: settled.map((r) => ethNumber(r.refund_wei)) },
  ], "ETH") : el("p", { class: "muted" }, "No settled round yet: the chart appears after the first settlement.");
  const rows = [...rounds].reverse().map((r) => el("tr", { dataset: { round: r.id, stage: r.stage } },
    el("td", {}, el("a", { href: `#/rounds/${r.id}`, class: "round-link" }, `Round ${r.id}`)),
    el("td", {}, stageBadge(r.stage)),
    el("td", {}, r.kind),
    num(eth(r.budget_wei)), num(eth(r.paid_wei)), num(eth(r.refund_wei)),
    num(`${r.reveals} / ${r.commits} of ${r.slots}`),
    num(String(r.committee)),
    num(r.slashes ? el("span", { class: "bad" }, String(r.slashes)) : "0"),
    num(txBlock(r.opened_block)), num(txBlock(r.settled_block))));
  return [
    el("h1", {}, "Rounds"),
    el("div", { class: "cards" }, card("rounds", String(rounds.length)), card("settled", String(settled.length)),
      card("total budget (ETH)", eth(totalBudget)), card("total paid to nodes (ETH)", eth(totalPaid))),
    el("h2", {}, "Payouts over rounds"), chart,
    el("h2", {}, "All rounds"),
    table(["round", "stage", "kind", ["budget (ETH)", { class: "num" }], ["paid (ETH)", { class: "num" }],
      ["refund (ETH)", { class: "num" }], ["reveals / commits", { class: "num" }], ["committee", { class: "num" }],
      ["slashes", { class: "num" }], ["opened", { class: "num" }], ["settled", { class: "num" }]], rows, { id: "rounds" }),
  ];
}

const txBlock = (block) => (block === null || block === undefined ? el("span", { class: "muted" }, "—") : `#${block}`);

// A commit and its reveal, one per line, each with its transaction and block.
function actionsCell(commit, reveal, missing) {
  return el("td", { class: "actions" },
    el("div", {}, el("span", { class: "what" }, "commit"), txLink(commit)),
    el("div", {}, el("span", { class: "what" }, "reveal"),
      reveal ? txLink(reveal) : el("span", { class: commit ? "bad" : "muted" }, missing)));
}

// Compensation from a forfeited pool (the requester withheld its reference, or nobody scored): its own class,
// so that a cell's ".eth" is always the payout.
function compensationLine(comp) {
  return comp ? el("div", { class: "comp", title: `${comp.amount_wei} wei from a forfeited pool` },
    "+ ", el("span", { class: "comp-eth", dataset: { wei: comp.amount_wei } }, formatEth(comp.amount_wei)), " compensation") : null;
}

// What settlement credited (or slashed), with the settle transaction under it.
function payoutCell(payout, slash, comp) {
  const amount = payout ? eth(payout.amount_wei)
    : slash ? el("span", { class: "bad", title: slash.reason || "" }, "slashed ", eth(slash.amount_wei)) : eth(null);
  return el("td", { class: "num payout" }, el("div", {}, amount), compensationLine(comp),
    payout || slash ? el("div", {}, txLink(payout || slash)) : null);
}

function referenceText(r) {
  if (r.reference !== null) return r.reference;
  if (!r.has_reference) return el("span", { class: "muted" }, "none committed");
  if (r.reference_withheld) {
    return el("span", { class: "bad" }, "withheld by the requester: the unpaid pools went to the nodes that did their part");
  }
  return el("span", { class: "muted" }, "not revealed");
}

function absentText(m) {
  if (m.excused) return el("span", { class: "muted" }, "absent (not slashed: reference withheld)");
  return m.absent ? el("span", { class: "bad" }, "absent: never committed") : "did not commit";
}

// Non-breaking inside a measure, so a narrow cell wraps only between measures.
function costText(cost) {
  return `${cost.latency_ms}\u00a0ms · ${cost.tokens}\u00a0tok · ${cost.memory_mb}\u00a0MB`;
}

async function viewRound(id) {
  const r = await api(`/api/rounds/${id}`);
  const task = r.task || {};
  const taskBox = el("section", { class: "task" },
    el("h2", {}, "Task"),
    el("dl", {},
      el("dt", {}, "kind"), el("dd", {}, r.kind),
      task.question ? [el("dt", {}, "question"), el("dd", { class: "question" }, task.question)] : null,
      task.context ? [el("dt", {}, "context"), el("dd", { class: "context" }, task.context)] : null,
      task.article ? [el("dt", {}, "article"), el("dd", { class: "context" }, task.article)] : null,
      r.task ? null : [el("dt", {}, "uri"), el("dd", { class: "mono wrap" }, r.uri)],
      el("dt", {}, "reference"), el("dd", {}, referenceText(r)),
      el("dt", {}, "requester"), el("dd", {}, nodeLink(r.requester))));
  const inference = r.inference.map((n) => el("tr", { dataset: { node: n.node }, class: n.slash ? "slashed" : null },
    el("td", {}, nodeLink(n.node, n.name)),
    actionsCell(n.commit, n.reveal, "never revealed"),
    el("td", { class: "output" }, n.reveal ? [el("span", { class: "idx" }, `#${n.reveal.index}`), n.reveal.output] : "—"),
    el("td", { class: "small cost" }, n.reveal ? costText(n.reveal.cost) : "—"),
    num(wad(n.payout && n.payout.quality_wad)),
    num(wad(n.payout ? n.payout.cost_wad : n.reveal && n.reveal.normalised_cost_wad)),
    num(wad(n.payout && n.payout.reward_wad)),
    payoutCell(n.payout, n.slash, n.compensation)));
  const outputCount = r.inference.filter((n) => n.reveal).length;
  const committee = r.committee.map((m) => el("tr", { dataset: { node: m.node }, class: m.slash ? "slashed" : null },
    el("td", {}, nodeLink(m.node, m.name)),
    actionsCell(m.commit, m.reveal, m.commit ? "never revealed" : absentText(m)),
    el("td", { class: "scores" }, m.reveal ? m.reveal.scores_wad.map((s, i) =>
      el("span", { class: "score", title: `output #${i}: ${s} / 1e18` }, `#${i} ${wadNumber(s).toFixed(2)}`)) : "—"),
    el("td", { class: "small cost" }, m.reveal ? costText(m.reveal.cost) : "—"),
    num(wad(m.payout && m.payout.agreement_wad)),
    num(wad(m.payout ? m.payout.cost_wad : m.reveal && m.reveal.normalised_cost_wad)),
    num(wad(m.payout && m.payout.reward_wad)),
    payoutCell(m.payout, m.slash, m.compensation)));
  const timeline = r.timeline.map((t) => el("tr", {}, el("td", {}, t.event), el("td", {}, txLink(t))));
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/rounds" }, "Rounds"), " / ", `Round ${r.id}`),
    el("h1", {}, `Round ${r.id} `, stageBadge(r.stage)),
    r.live ? el("p", { class: "live-stage" }, `in ${r.live.stage} until block #${r.live.deadline}`,
      r.live.expired ? " (deadline passed: the next call moves it on)" : "") : null,
    el("div", { class: "cards" },
      card("budget (ETH)", eth(r.budget_wei)), card("inference pool", eth(r.inference_pool_wei)),
      card("evaluator pool", eth(r.evaluator_pool_wei)), card("paid to nodes", eth(r.paid_wei)),
      card("refund", eth(r.refund_wei)),
      BigInt(r.compensated_wei) > 0n ? card("compensation", eth(r.compensated_wei)) : null,
      card("slots · committee", `${r.slots} · ${r.committee_size}`),
      card("opened", txLink(r.opened)), card("settled", txLink(r.settled))),
    taskBox,
    el("h2", {}, `Inference nodes (${outputCount} revealed of ${r.inference.length} committed)`),
    table(["node", "commit · reveal", "output", "attested cost", ["quality", { class: "num" }], ["cost", { class: "num" }],
      ["reward", { class: "num" }], ["payout (ETH)", { class: "num" }]], inference, { id: "inference" }),
    el("h2", {}, `Committee (${r.committee.length} drawn)`),
    table(["evaluator", "commit · reveal", "scores per output", "attested cost", ["agreement", { class: "num" }],
      ["cost", { class: "num" }], ["reward", { class: "num" }], ["payout (ETH)", { class: "num" }]],
      committee, { id: "committee" }),
    el("details", { class: "timeline" }, el("summary", {}, `Timeline: ${r.timeline.length} events`),
      table(["event", "transaction"], timeline, { id: "timeline" })),
  ];
}

async function viewNode(address) {
  const n = await api(`/api/nodes/${address}`);
  const s = n.summary;
  const paidRounds = n.rounds.filter((h) => h.amount_wei !== null || h.slash_wei !== null);
  const chart = paidRounds.length ? barChart(paidRounds.map((h) => String(h.round)), [
    { name: "payout", color: COLORS.payout, values: paidRounds.map((h) => (h.amount_wei ? ethNumber(h.amount_wei) : 0)) },
    { name: "slashed", color: COLORS.slash, values: paidRounds.map((h) => (h.slash_wei ? ethNumber(h.slash_wei) : 0)) },
  ], "ETH") : el("p", { class: "muted" }, "No settled round with this node yet.");
  const history = [...n.rounds].reverse().map((h) => el("tr", { dataset: { round: h.round }, class: h.slash_wei ? "slashed" : null },
    el("td", {}, el("a", { href: `#/rounds/${h.round}` }, `Round ${h.round}`)),
    el("td", {}, stageBadge(h.stage)), el("td", {}, h.role),
    el("td", {}, txLink(h.commit)),
    el("td", {}, h.reveal ? txLink(h.reveal)
      : h.commit ? el("span", { class: "bad" }, "never revealed")
        : h.absent ? el("span", { class: h.slash_wei ? "bad" : "muted" }, h.slash_wei ? "absent" : "absent (excused)")
          : el("span", { class: "muted" }, "—")),
    num(wad(h.score_wad)), num(wad(h.cost_wad)), num(wad(h.reward_wad)),
    el("td", { class: "num payout" }, eth(h.amount_wei),
      h.compensation_wei ? compensationLine({ amount_wei: h.compensation_wei }) : null),
    el("td", { class: "num" }, h.slash_wei ? el("span", { class: "bad" }, eth(h.slash_wei)) : eth(null))));
  const slashes = n.slashes.map((x) => el("tr", { dataset: { round: x.round } },
    el("td", {}, el("a", { href: `#/rounds/${x.round}` }, `Round ${x.round}`)),
    el("td", { class: "num" }, el("span", { class: "bad" }, eth(x.amount_wei))), el("td", {}, x.reason || ""),
    el("td", {}, txLink(x))));
  const moves = n.account_events.map((m) => el("tr", {},
    el("td", {}, m.event),
    el("td", {}, m.role || (m.exitable_at !== undefined ? `exitable at block #${m.exitable_at}` : "")),
    el("td", { class: "num" }, m.amount !== undefined ? eth(m.amount) : eth(null)),
    el("td", { class: "num" }, m.stake !== undefined ? eth(m.stake) : eth(null)),
    el("td", {}, txLink(m))));
  const requested = n.requested.map((q) => el("tr", {},
    el("td", {}, el("a", { href: `#/rounds/${q.round}` }, `Round ${q.round}`)), el("td", {}, stageBadge(q.stage)),
    num(eth(q.budget_wei)), num(eth(q.refund_wei)), el("td", {}, txLink(q))));
  return [
    el("p", { class: "crumbs" }, el("a", { href: "#/leaderboard" }, "Nodes"), " / ", n.name || short(n.address)),
    el("h1", {}, n.name || "Node", " ", el("span", { class: "mono addr" }, n.address)),
    n.model ? el("p", { class: "muted" }, `serves ${n.model}`) : null,
    el("div", { class: "cards" },
      card("registered as", n.registered_role), card("stake now (ETH)", eth(n.stake_wei)),
      card("pending rounds", String(n.pending_rounds)), card("owed, not withdrawn (ETH)", eth(n.balance_wei)),
      card("withdrawn (ETH)", eth(n.withdrawn_wei)), card("paid in total (ETH)", eth(s ? s.paid_wei : "0")),
      s && BigInt(s.compensated_wei) > 0n ? card("compensation (ETH)", eth(s.compensated_wei)) : null,
      card("slashed (ETH)", el("span", { class: s && s.slashes ? "bad" : "" }, eth(s ? s.slashed_wei : "0")),
        s && s.slashes ? el("span", { class: "unit" }, ` in ${s.slashes} round${s.slashes > 1 ? "s" : ""}`) : null),
      s ? [card(s.role === "evaluator" ? "mean agreement" : "mean quality", s.mean_score.toFixed(3)),
        card("mean cost", s.mean_cost.toFixed(3)), card("mean reward", s.mean_reward.toFixed(3))] : null),
    el("h2", {}, "Payouts over rounds"), chart,
    el("h2", {}, "Rounds"),
    table(["round", "stage", "role", "commit", "reveal", ["quality / agreement", { class: "num" }], ["cost", { class: "num" }],
      ["reward", { class: "num" }], ["payout (ETH)", { class: "num" }], ["slashed (ETH)", { class: "num" }]], history, { id: "history" }),
    el("h2", {}, "Slashes"),
    table(["round", ["amount (ETH)", { class: "num" }], "why", "transaction"], slashes, { id: "slashes" }),
    el("h2", {}, "Stake and withdrawals"),
    table(["event", "detail", ["amount (ETH)", { class: "num" }], ["stake after (ETH)", { class: "num" }], "transaction"],
      moves, { id: "account" }),
    n.requested.length ? [el("h2", {}, "Rounds requested"),
      table(["round", "stage", ["budget (ETH)", { class: "num" }], ["refund (ETH)", { class: "num" }], "opened"], requested)] : null,
  ];
}

function rewardBar(value, max) {
  const pct = max > 0 ? Math.max(0, (100 * value) / max) : 0;
  return el("div", { class: "rbar" }, el("i", { style: `width:${pct.toFixed(1)}%` }), el("span", {}, value.toFixed(3)));
}

async function viewLeaderboard() {
  const lb = await api("/api/leaderboard");
  const max = Math.max(0, ...lb.nodes.map((r) => r.mean_reward));
  const names = Object.fromEntries(lb.nodes.map((r) => [r.node, r.name]));
  const models = lb.models.map((m) => el("tr", { dataset: { label: m.label } },
    el("td", {}, m.recorded ? el("span", { class: "name" }, m.label) : nodeLink(m.label, names[m.label])), el("td", {}, m.role), num(String(m.nodes.length)),
    num(String(m.rounds)), el("td", { class: "num" }, rewardBar(m.mean_reward, max)),
    num(m.mean_score.toFixed(3)), num(m.mean_cost.toFixed(3)), num(eth(m.paid_wei)), num(eth(m.slashed_wei))));
  const nodes = lb.nodes.map((r) => el("tr", { dataset: { node: r.node } },
    el("td", {}, nodeLink(r.node, r.name)), el("td", {}, r.model || el("span", { class: "muted" }, "—")), el("td", {}, r.role),
    num(String(r.rounds)), el("td", { class: "num" }, rewardBar(r.mean_reward, max)),
    num(r.mean_score.toFixed(3)), num(r.mean_cost.toFixed(3)), num(eth(r.paid_wei)),
    num(r.slashes ? el("span", { class: "bad" }, eth(r.slashed_wei)) : eth(r.slashed_wei))));
  const head = (first) => [first, "role", ["nodes", { class: "num" }], ["rounds", { class: "num" }],
    ["mean reward", { class: "num" }], ["mean quality / agreement", { class: "num" }], ["mean cost", { class: "num" }],
    ["paid (ETH)", { class: "num" }], ["slashed (ETH)", { class: "num" }]];
  return [
    el("h1", {}, "Leaderboard"),
    el("p", { class: "muted" }, "Mean reward per settled round (1.0 = a full slot of the pool), from the InferencePaid and ",
      "EvaluatorPaid events; inference nodes first, then evaluators, each by mean reward."),
    el("h2", {}, "Per model"),
    lb.models_recorded ? null : el("p", { class: "muted" },
      "The deployment file records no models: each node is its own group, named by its address."),
    table(head("model"), models, { id: "models" }),
    el("h2", {}, "Per node"),
    table(["node", "model", "role", ["rounds", { class: "num" }], ["mean reward", { class: "num" }],
      ["mean quality / agreement", { class: "num" }], ["mean cost", { class: "num" }], ["paid (ETH)", { class: "num" }],
      ["slashed (ETH)", { class: "num" }]], nodes, { id: "nodes" }),
    lb.unpaid.length ? [el("h2", {}, "Registered, no settled round yet"),
      table(["node", "role"], lb.unpaid.map((u) => el("tr", { dataset: { node: u.node } },
        el("td", {}, nodeLink(u.node, u.name)), el("td", {}, u.role))), { id: "unpaid" })] : null,
  ];
}

async function viewTx(hash) {
  const t = await api(`/api/tx/${hash}`);
  const events = t.events.map((e) => el("tr", {}, num(String(e.log_index)), el("td", {}, e.event),
    el("td", {}, el("pre", {}, JSON.stringify(e.args, null, 2)))));
  return [
    el("h1", {}, "Transaction"),
    el("p", { class: "mono wrap" }, t.hash),
    el("div", { class: "cards" },
      card("status", el("span", { class: t.status === 1 ? "good" : "bad" }, t.status === 1 ? "success" : "reverted")),
      card("block", `#${t.block}`), card("from", nodeLink(t.from)),
      card("to", t.to ? el("span", { class: "mono" }, short(t.to)) : `creates ${short(t.created)}`),
      card("value (ETH)", eth(t.value_wei)), card("gas used", String(t.gas_used))),
    el("h2", {}, "Call"),
    t.call ? [el("p", { class: "mono" }, t.call.signature), el("pre", {}, JSON.stringify(t.call.args, null, 2))]
      : el("p", { class: "muted" }, t.created ? "contract creation" : "not a call to PoQ"),
    el("h2", {}, "PoQ events"),
    table([["log", { class: "num" }], "event", "arguments"], events, { id: "events" }),
  ];
}

// ------------------------------------------------------------------ routing and live updates

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "rounds" && parts[1]) return ["rounds", () => viewRound(parts[1])];
  if (parts[0] === "nodes" && parts[1]) return ["leaderboard", () => viewNode(parts[1])];
  if (parts[0] === "tx" && parts[1]) return ["", () => viewTx(parts[1])];
  if (parts[0] === "leaderboard") return ["leaderboard", viewLeaderboard];
  return ["rounds", viewRounds];
}

async function render(keepScroll) {
  const seq = ++renderSeq;
  const [section, view] = route();
  document.querySelectorAll("nav a[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === section));
  const main = document.getElementById("view");
  const scroll = window.scrollY;
  let content;
  try {
    content = await view();
  } catch (err) {
    content = [el("div", { class: "error" }, el("h1", {}, "Not available"), el("p", {}, err.message))];
  }
  if (seq !== renderSeq) return;
  main.replaceChildren(...content.flat().filter(Boolean));
  main.dataset.route = location.hash || "#/rounds";
  if (keepScroll) window.scrollTo(0, scroll);
}

async function poll() {
  try {
    const st = await api("/api/status");
    const chain = document.getElementById("chain");
    chain.replaceChildren(...[el("span", { class: "dot", title: "following the chain" }),
      `chain ${st.chain_id} · PoQ `, el("span", { class: "mono", title: st.address }, short(st.address)),
      ` · block `, el("span", { id: "head" }, `#${st.head}`),
      st.chain === "ok" ? null : el("span", { class: "warn", title: st.chain_error || "" },
        ` · chain not responding (showing block #${st.head})`)].filter(Boolean));
    if (renderedGeneration !== null && st.generation !== renderedGeneration) {
      renderedGeneration = st.generation;
      await render(true);
    }
    renderedGeneration = st.generation;
  } catch (err) {
    document.getElementById("chain").textContent = `chain unreachable: ${err.message}`;
  }
}

window.addEventListener("hashchange", () => render(false).then(() => window.scrollTo(0, 0)));
poll().then(() => render(false));
setInterval(poll, POLL_MS);
