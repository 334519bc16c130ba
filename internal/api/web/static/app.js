// bootd dashboard: talks to the JSON API under /api/v1 (docs/api.md).
// Plain ES2020, no dependencies. Every piece of data reaches the DOM through
// textContent or attributes set one by one, never through innerHTML.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const LEASE_LIMIT = 200;
  const MAX_EXCHANGES = 200;

  const $ = (id) => document.getElementById(id);

  const state = {
    me: null,          // {name, role} once logged in
    gen: 0,            // counts logins; a 401 from an older one is stale
    admin: false,
    timers: [],        // refresh timers to stop on logout
    events: null,      // the EventSource
    eventsRetry: null, // timer reopening a closed EventSource
    pending: [],       // exchanges waiting for the next frame
    frame: 0,
    editing: null,     // {kind, id} of the reservation being edited
  };

  // ---- helpers -------------------------------------------------------

  // el builds an element: el('td', {className: 'num'}, 'text', child, ...).
  // Strings become text nodes; role and attributes with a dash in their
  // name (data-*, aria-*) are set with setAttribute, the rest as properties.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'role' || k.includes('-')) e.setAttribute(k, String(v));
      else e[k] = v;
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function setText(id, text) {
    $(id).textContent = text || '';
  }

  function fmtTime(s) {
    if (!s) return '';
    const d = new Date(s);
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() <= 1) return '';
    return d.toLocaleString();
  }

  function fmtClock(s) {
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return String(s || '');
    const ms = String(d.getMilliseconds()).padStart(3, '0');
    return d.toLocaleTimeString([], {hour12: false}) + '.' + ms;
  }

  function fmtDuration(sec) {
    let s = Math.floor(Number(sec) || 0);
    const d = Math.floor(s / 86400); s %= 86400;
    const h = Math.floor(s / 3600); s %= 3600;
    const m = Math.floor(s / 60); s %= 60;
    if (d) return `${d}d ${h}h ${m}m`;
    if (h) return `${h}h ${m}m ${s}s`;
    if (m) return `${m}m ${s}s`;
    return `${s}s`;
  }

  // ---- API -----------------------------------------------------------

  class APIError extends Error {
    constructor(status, body, retryAfter) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.problems = (body && Array.isArray(body.problems)) ? body.problems : [];
      this.retryAfter = retryAfter;
    }
  }

  // api calls the API. A 401 ends the session and shows the login form,
  // unless opts.login says the caller handles it.
  async function api(method, path, body, opts = {}) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {'X-Bootd-Request': '1', 'Accept': 'application/json'},
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const gen = state.gen;
    const resp = await fetch(path, init);
    const text = await resp.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!resp.ok) {
      const err = new APIError(resp.status, data, resp.headers.get('Retry-After'));
      if (resp.status === 401 && !opts.login && gen === state.gen && state.me) showLogin();
      throw err;
    }
    return data;
  }

  // report shows err in the element with the given id; a 401 has already
  // sent the user back to the login form.
  function report(id, err) {
    if (err && err.status === 401) return;
    setText(id, err ? err.message : '');
  }

  // ---- login and session --------------------------------------------

  function showLogin(message) {
    stopDashboard();
    state.me = null;
    state.gen++;
    $('dashboard').hidden = true;
    $('session').hidden = true;
    $('login').hidden = false;
    $('login-token').value = '';
    $('lease-q').value = '';
    setText('login-error', message || '');
    $('login-token').focus();
  }

  function showDashboard(me) {
    state.me = me;
    state.gen++;
    state.admin = me.role === 'admin';
    $('login').hidden = true;
    $('session').hidden = false;
    $('dashboard').hidden = false;
    setText('whoami', `${me.name} (${me.role})`);
    $('resv-form').hidden = !state.admin;
    resetResvForm();
    setText('resv-error', '');
    setText('resv-status', '');
    $('exchange-table').tBodies[0].replaceChildren();
    startDashboard();
  }

  async function login(ev) {
    ev.preventDefault();
    const token = $('login-token').value.trim();
    if (!token) {
      setText('login-error', 'enter a token');
      return;
    }
    $('login-submit').disabled = true;
    setText('login-error', '');
    try {
      const me = await api('POST', '/api/v1/session', {token}, {login: true});
      $('login-token').value = '';
      showDashboard(me && me.role ? me : await api('GET', '/api/v1/whoami'));
    } catch (err) {
      let msg = err.message;
      if (err.status === 429 && err.retryAfter) msg += ` (try again in ${err.retryAfter} s)`;
      if (!err.status) msg = `cannot reach bootd: ${err.message}`;
      setText('login-error', msg);
    } finally {
      $('login-submit').disabled = false;
    }
  }

  async function logout() {
    try {
      await api('DELETE', '/api/v1/session', undefined, {login: true});
    } catch (_) {
      // The session is gone either way as far as this page is concerned.
    }
    showLogin();
  }

  function startDashboard() {
    stopDashboard();
    poll(loadHealth);
    poll(loadPools);
    loadLeases();
    loadReservations();
    openEvents();
  }

  function stopDashboard() {
    for (const t of state.timers) clearTimeout(t.id);
    state.timers = [];
    closeEvents();
  }

  // poll runs fn now and REFRESH_MS after each run ends, until logout.
  function poll(fn) {
    const t = {id: 0};
    state.timers.push(t);
    const run = async () => {
      try { await fn(); } catch (_) { /* fn reports its own errors */ }
      if (state.timers.includes(t)) t.id = setTimeout(run, REFRESH_MS);
    };
    run();
  }

  // ---- health --------------------------------------------------------

  async function loadHealth() {
    let st;
    try {
      st = await api('GET', '/api/v1/status');
    } catch (err) {
      report('health-error', err);
      return;
    }
    setText('health-error', '');
    const health = st.health || {};
    const ok = health.status === 'ok';
    const badge = $('health-status');
    badge.textContent = ok ? 'ok' : (health.status || 'failing');
    badge.className = 'badge ' + (ok ? 'ok' : 'bad');

    const cfg = st.config || {};
    const facts = [
      ['Version', st.version],
      ['Uptime', fmtDuration(st['uptime-seconds'])],
      ['Started', fmtTime(st.started)],
      ['Config file', cfg.file],
      ['Loaded', fmtTime(cfg.loaded)],
      ['Reloads', cfg.reloads],
      ['Active leases', st['leases-active']],
    ];
    const dl = document.createDocumentFragment();
    for (const [k, v] of facts) dl.append(el('dt', {}, k), el('dd', {}, v === undefined ? '' : v));
    $('health-facts').replaceChildren(dl);

    const ul = document.createDocumentFragment();
    for (const c of health.checks || []) {
      ul.append(el('li', {className: c.ok ? 'ok' : 'bad'},
        el('span', {className: 'badge ' + (c.ok ? 'ok' : 'bad')}, c.ok ? 'ok' : 'failing'),
        ' ', el('strong', {}, c.name || ''),
        c.detail ? el('span', {className: 'detail'}, ' ' + c.detail) : null));
    }
    $('health-checks').replaceChildren(ul);
  }

  // ---- pools ---------------------------------------------------------

  function utilClass(pct) {
    if (pct < 80) return 'ok';
    if (pct < 95) return 'warn';
    return 'bad';
  }

  async function loadPools() {
    let data;
    try {
      data = await api('GET', '/api/v1/pools');
    } catch (err) {
      report('pools-error', err);
      return;
    }
    setText('pools-error', '');
    const body = document.createDocumentFragment();
    for (const sn of data.subnets || []) {
      const notes = [];
      if (sn.interface) notes.push(sn.interface);
      if (sn['shared-network']) notes.push(`shared network ${sn['shared-network']}`);
      if (sn['proxy-dhcp']) notes.push('proxy DHCP');
      if (sn.reservations) notes.push(`${sn.reservations} reserved`);
      body.append(el('tr', {className: 'subnet', 'data-subnet': sn.subnet},
        el('th', {colSpan: 3, scope: 'rowgroup'}, sn.subnet || '',
          notes.length ? el('span', {className: 'detail'}, ' ' + notes.join(', ')) : null)));
      const pools = sn.pools || [];
      if (pools.length === 0) {
        body.append(el('tr', {}, el('td', {colSpan: 3, className: 'detail'}, 'no pools')));
      }
      for (const p of pools) {
        const size = Number(p.size) || 0;
        const active = Number(p.active) || 0;
        let pct = typeof p.utilisation === 'number' ? p.utilisation * 100 : (size ? active / size * 100 : 0);
        pct = Math.max(0, Math.min(100, pct));
        const fill = el('div', {className: 'fill ' + utilClass(pct)});
        fill.style.width = pct.toFixed(1) + '%';
        body.append(el('tr', {'data-range': p.range},
          el('td', {className: 'mono'}, p.range || ''),
          el('td', {className: 'num'}, `${active} / ${size}`),
          el('td', {className: 'util'},
            el('div', {className: 'bar', role: 'img', 'aria-label': pct.toFixed(1) + ' %'}, fill),
            el('span', {className: 'pct'}, pct.toFixed(1) + ' %'))));
      }
    }
    $('pool-table').tBodies[0].replaceChildren(body);
  }

  // ---- leases --------------------------------------------------------

  async function loadLeases() {
    const q = $('lease-q').value.trim();
    const params = new URLSearchParams({limit: String(LEASE_LIMIT)});
    if (q) params.set('q', q);
    let data;
    try {
      data = await api('GET', '/api/v1/leases?' + params.toString());
    } catch (err) {
      report('lease-error', err);
      return;
    }
    setText('lease-error', '');
    const leases = data.leases || [];
    const total = typeof data.total === 'number' ? data.total : leases.length;
    setText('lease-count', data.truncated || total > leases.length
      ? `${leases.length} of ${total}` : `${leases.length}`);
    const body = document.createDocumentFragment();
    for (const l of leases) {
      const active = l.state === 'bound' || l.state === 'offered';
      let action = null;
      if (state.admin && active) {
        action = el('button', {type: 'button', className: 'small danger', onclick: () => releaseLease(l.address)}, 'Release');
      }
      body.append(el('tr', {'data-address': l.address, className: 'state-' + (l.state || '')},
        el('td', {className: 'mono'}, l.address || ''),
        el('td', {}, l.state || ''),
        el('td', {className: 'mono'}, l.mac || ''),
        el('td', {}, l.hostname || ''),
        el('td', {title: l.expires || ''}, fmtTime(l.expires)),
        el('td', {className: 'mono'}, l.subnet || ''),
        el('td', {className: 'actions'}, action)));
    }
    if (leases.length === 0) {
      body.append(el('tr', {}, el('td', {colSpan: 7, className: 'detail'}, q ? 'no lease matches' : 'no leases')));
    }
    $('lease-table').tBodies[0].replaceChildren(body);
  }

  async function releaseLease(address) {
    if (!window.confirm(`Release the lease of ${address}?`)) return;
    try {
      await api('POST', `/api/v1/leases/${encodeURIComponent(address)}/release`);
    } catch (err) {
      report('lease-error', err);
      return;
    }
    setText('lease-error', '');
    loadLeases();
    loadPools();
  }

  // ---- reservations --------------------------------------------------

  function resvPath(kind, id) {
    return `/api/v1/reservations/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
  }

  async function loadReservations() {
    let data;
    try {
      data = await api('GET', '/api/v1/reservations');
    } catch (err) {
      report('resv-error', err);
      return;
    }
    const list = Array.isArray(data) ? data : (data.reservations || []);
    setText('resv-count', String(list.length));
    const body = document.createDocumentFragment();
    for (const r of list) {
      const fromAPI = r.source === 'api';
      let source = r.source || '';
      if (!fromAPI) {
        source = 'config';
        if (r.file) source += ' ' + r.file + (r.line ? ':' + r.line : '');
      }
      const actions = el('td', {className: 'actions'});
      if (state.admin && fromAPI) {
        actions.append(
          el('button', {type: 'button', className: 'small', onclick: () => editReservation(r)}, 'Edit'), ' ',
          el('button', {type: 'button', className: 'small danger', onclick: () => deleteReservation(r)}, 'Delete'));
      }
      body.append(el('tr', {'data-kind': r.kind, 'data-id': r.id, className: fromAPI ? 'src-api' : 'src-config'},
        el('td', {}, r.kind || ''),
        el('td', {className: 'mono'}, r.id || ''),
        el('td', {className: 'mono'}, r.subnet || ''),
        el('td', {className: 'mono'}, r.address || ''),
        el('td', {}, r.hostname || ''),
        el('td', {className: 'mono'}, r['boot-file'] || ''),
        el('td', {className: 'detail', title: fromAPI && r.file ? r.file + (r.line ? ':' + r.line : '') : ''}, source),
        actions));
    }
    if (list.length === 0) {
      body.append(el('tr', {}, el('td', {colSpan: 8, className: 'detail'}, 'no reservations')));
    }
    $('resv-table').tBodies[0].replaceChildren(body);
  }

  function showResvError(err) {
    const box = $('resv-error');
    box.replaceChildren();
    if (!err || err.status === 401) return;
    box.append(el('p', {}, err.message));
    if (err.problems && err.problems.length) {
      const ul = el('ul', {className: 'problems'});
      for (const p of err.problems) {
        const where = [p.file, p.line, p.column].filter((x) => x !== undefined && x !== null && x !== '').join(':');
        ul.append(el('li', {className: 'mono'}, where ? `${where}: ${p.message || ''}` : (p.message || '')));
      }
      box.append(ul);
    }
  }

  let noteTimer = 0;
  function note(text) {
    setText('resv-status', text);
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => setText('resv-status', ''), 6000);
  }

  function resetResvForm() {
    state.editing = null;
    $('resv-form').reset();
    $('resv-kind').disabled = false;
    $('resv-id').readOnly = false;
    setText('resv-submit', 'Add');
    $('resv-cancel').hidden = true;
  }

  function editReservation(r) {
    state.editing = {kind: r.kind, id: r.id};
    $('resv-kind').value = r.kind;
    $('resv-id').value = r.id || '';
    $('resv-address').value = r.address || '';
    $('resv-hostname').value = r.hostname || '';
    $('resv-bootfile').value = r['boot-file'] || '';
    $('resv-subnet').value = r.subnet || '';
    // The kind and id name the reservation being replaced.
    $('resv-kind').disabled = true;
    $('resv-id').readOnly = true;
    setText('resv-submit', 'Save');
    $('resv-cancel').hidden = false;
    showResvError(null);
    setText('resv-status', `editing ${r.kind} ${r.id}`);
    $('resv-address').focus();
  }

  async function submitReservation(ev) {
    ev.preventDefault();
    const body = {kind: $('resv-kind').value, id: $('resv-id').value.trim()};
    const fields = [['address', 'resv-address'], ['hostname', 'resv-hostname'],
      ['boot-file', 'resv-bootfile'], ['subnet', 'resv-subnet']];
    for (const [key, id] of fields) {
      const v = $(id).value.trim();
      if (v) body[key] = v;
    }
    if (!body.id) {
      showResvError(new APIError(0, {error: 'the id is required'}));
      return;
    }
    const editing = state.editing;
    $('resv-submit').disabled = true;
    try {
      if (editing) await api('PUT', resvPath(editing.kind, editing.id), body);
      else await api('POST', '/api/v1/reservations', body);
    } catch (err) {
      showResvError(err);
      return;
    } finally {
      $('resv-submit').disabled = false;
    }
    showResvError(null);
    resetResvForm();
    note(`${editing ? 'saved' : 'added'} ${body.kind} ${body.id}`);
    loadReservations();
    loadPools();
  }

  async function deleteReservation(r) {
    if (!window.confirm(`Delete the reservation for ${r.kind} ${r.id}?`)) return;
    try {
      await api('DELETE', resvPath(r.kind, r.id));
    } catch (err) {
      showResvError(err);
      return;
    }
    showResvError(null);
    if (state.editing && state.editing.kind === r.kind && state.editing.id === r.id) resetResvForm();
    note(`deleted ${r.kind} ${r.id}`);
    loadReservations();
    loadPools();
  }

  // ---- live exchanges ------------------------------------------------

  function setLive(text, cls) {
    const live = $('live');
    live.textContent = text;
    live.className = 'live ' + cls;
  }

  function openEvents() {
    closeEvents();
    setLive('connecting', 'wait');
    const es = new EventSource('/api/v1/events');
    state.events = es;
    es.onopen = () => setLive('live', 'ok');
    es.onerror = () => {
      if (state.events !== es) return;
      if (es.readyState !== EventSource.CLOSED) {
        setLive('reconnecting', 'wait');
        return;
      }
      // The server refused the stream (a 401, or it went away): find out
      // which, then log in again or try again later.
      setLive('reconnecting', 'wait');
      es.close();
      state.events = null;
      state.eventsRetry = setTimeout(async () => {
        try {
          await api('GET', '/api/v1/whoami');
          if (state.me) openEvents();
        } catch (err) {
          if (err.status !== 401 && state.me) {
            setLive('offline', 'bad');
            state.eventsRetry = setTimeout(openEvents, REFRESH_MS);
          }
        }
      }, 1000);
    };
    es.addEventListener('exchange', (ev) => {
      let x;
      try { x = JSON.parse(ev.data); } catch (_) { return; }
      state.pending.push(x);
      if (state.pending.length > MAX_EXCHANGES) state.pending.splice(0, state.pending.length - MAX_EXCHANGES);
      if (!state.frame) state.frame = requestAnimationFrame(flushExchanges);
    });
  }

  function closeEvents() {
    clearTimeout(state.eventsRetry);
    state.eventsRetry = null;
    if (state.events) {
      state.events.close();
      state.events = null;
    }
    if (state.frame) cancelAnimationFrame(state.frame);
    state.frame = 0;
    state.pending = [];
    setLive('offline', 'bad');
  }

  function exchangeRow(x) {
    const reply = x.reply || 'dropped';
    const cls = !x.reply ? 'dropped' : (x.reply === 'NAK' ? 'nak' : '');
    return el('tr', {'data-mac': x.mac || '', className: cls},
      el('td', {className: 'mono', title: x.time || ''}, fmtClock(x.time)),
      el('td', {}, `${x.type || '?'} → ${reply}`),
      el('td', {className: 'mono'}, x.mac || ''),
      el('td', {className: 'mono'}, x.address || ''),
      el('td', {className: 'mono'}, x.giaddr || ''),
      el('td', {}, x.interface || ''),
      el('td', {}, x.reason || ''));
  }

  function flushExchanges() {
    state.frame = 0;
    const batch = state.pending;
    state.pending = [];
    if (!batch.length) return;
    const tbody = $('exchange-table').tBodies[0];
    const frag = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) frag.append(exchangeRow(batch[i]));
    tbody.prepend(frag);
    while (tbody.rows.length > MAX_EXCHANGES) tbody.lastElementChild.remove();
  }

  // ---- start ---------------------------------------------------------

  async function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('lease-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadLeases(); });
    $('resv-form').addEventListener('submit', submitReservation);
    $('resv-cancel').addEventListener('click', () => { resetResvForm(); showResvError(null); setText('resv-status', ''); });
    try {
      showDashboard(await api('GET', '/api/v1/whoami', undefined, {login: true}));
    } catch (err) {
      showLogin(err.status === 401 ? '' : (err.status ? err.message : `cannot reach bootd: ${err.message}`));
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
