// The web chat page of smallthinker-server: streams answers from /v1/chat/completions (the same
// origin only; the page's Content-Security-Policy allows nothing else). Text is shown with
// textContent, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { messages: [], controller: null };

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

function addBubble(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  const label = document.createElement('span');
  label.className = 'role';
  label.textContent = role;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  div.append(label, body);
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function errorText(res) {
  try {
    const j = await res.json();
    if (j && j.error && j.error.message) return `HTTP ${res.status}: ${j.error.message}`;
  } catch (e) { /* not JSON */ }
  return `HTTP ${res.status}`;
}

async function loadModel() {
  try {
    const res = await fetch('/v1/models', { headers: headers() });
    if (res.status === 401) { $('model').textContent = 'API key needed (Settings)'; $('settings').open = true; return; }
    if (res.status === 503) { $('model').textContent = 'loading the model…'; setTimeout(loadModel, 1000); return; }
    const j = await res.json();
    $('model').textContent = j.data && j.data[0] ? j.data[0].id : 'ready';
  } catch (e) {
    $('model').textContent = 'server unreachable';
  }
}

// Reads the SSE stream: "data: {chunk}" events separated by blank lines, "data: [DONE]" last.
async function readStream(res, onDelta) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        onDelta(chunk);
      }
    }
  }
}

async function send(text) {
  state.messages.push({ role: 'user', content: text });
  addBubble('user', text);
  const bubble = addBubble('assistant', '');
  bubble.classList.add('streaming');
  const body = bubble.querySelector('.text');
  const system = $('system').value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...state.messages] : state.messages.slice();
  const temperature = parseFloat($('temperature').value);
  const maxTokens = parseInt($('max-tokens').value, 10);
  state.controller = new AbortController();
  $('send').disabled = true;
  $('stop').disabled = false;
  let answer = '';
  let finish = null;
  const t0 = performance.now();
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        messages, stream: true,
        temperature: Number.isFinite(temperature) ? temperature : undefined,
        max_tokens: Number.isFinite(maxTokens) ? maxTokens : undefined,
      }),
      signal: state.controller.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    await readStream(res, (chunk) => {
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      if (choice.delta && choice.delta.content) {
        answer += choice.delta.content;
        body.textContent = answer;
        bubble.scrollIntoView({ block: 'end' });
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
  } catch (e) {
    if (e.name !== 'AbortError') {
      bubble.classList.add('error');
      body.textContent = answer + (answer ? '\n' : '') + 'error: ' + e.message;
    } else {
      finish = 'stopped';
    }
  } finally {
    bubble.classList.remove('streaming');
    state.controller = null;
    $('send').disabled = false;
    $('stop').disabled = true;
  }
  if (!bubble.classList.contains('error')) {
    state.messages.push({ role: 'assistant', content: answer });
    bubble.dataset.finish = finish || '';
    const stats = document.createElement('span');
    stats.className = 'stats';
    stats.textContent = `${finish || ''} · ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    bubble.append(stats);
  }
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('input').value;
  if (!text.trim() || state.controller) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => { if (state.controller) state.controller.abort(); });
$('new-chat').addEventListener('click', () => {
  if (state.controller) state.controller.abort();
  state.messages = [];
  $('messages').replaceChildren();
  $('input').focus();
});
$('api-key').addEventListener('change', loadModel);
loadModel();
