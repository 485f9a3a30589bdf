// What the guard (guard.mjs) knows of an answer's events as it relays them: how many went out, the
// answer's ids, and whether the last was final — all it needs to end a broken stream with an `error` event
// numbered after the last one. Plain JavaScript with no runtime imports, so Node tests it as it is
// (tests/js/events.test.mjs).

// An event's conversation and stream id, from its end (`…,"session_id":"…","stream_id":"…","seq":7}`).
const IDS = /"session_id":"([^"]*)","stream_id":"([^"]*)","seq":\d+\}\s*$/;
// How a final event (`complete` or `error`) starts, as bytes.
const FINAL = ["complete", "error"].map((type) => new TextEncoder().encode(`data: {"type":"${type}"`));
const START_BYTES = Math.max(...FINAL.map((f) => f.length));
// How much of the first event is read for the ids.
const FIRST_EVENT_BYTES = 4096;
const NEWLINE = 10;

// Follows the events relayed, however the chunks cut them, without decoding them: decoding every chunk
// cost the answer stream most of its time under load. The hub's SSE body is one answer's events, numbered
// 1, 2, 3… in order, each `data: {…}` ending in a blank line (its JSON holds no raw line break), so the
// blank lines relayed count the complete events and their number is the last one's `seq`. The ids are read
// once, from the first event; whether an event is final, from its first bytes.
export class Events {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.streamId = "";
    this.count = 0;
    this.newlineAtEnd = false;
    this.start = new Uint8Array(START_BYTES);
    this.startLength = 0;
    this.first = [];
    this.firstLength = 0;
    this.final = false;
  }

  // `[session_id, stream_id, seq]` of the last complete event relayed.
  get last() {
    return [this.sessionId, this.streamId, this.count];
  }

  push(chunk) {
    let from = 0;
    // A blank line split across chunks: this chunk's first byte ends the event.
    if (this.newlineAtEnd && chunk[0] === NEWLINE) {
      this.completed();
      from = 1;
    }
    for (let i = chunk.indexOf(NEWLINE, from); i !== -1 && i + 1 < chunk.length; i = chunk.indexOf(NEWLINE, i + 1)) {
      if (chunk[i + 1] !== NEWLINE) continue;
      this.part(chunk, from, i + 2);
      this.completed();
      from = i + 2;
      i++;
    }
    this.part(chunk, from, chunk.length);
    this.newlineAtEnd = chunk.length > from && chunk[chunk.length - 1] === NEWLINE;
  }

  // Bytes `from..to` of `chunk` belong to the event being relayed.
  part(chunk, from, to) {
    for (let i = from; i < to && this.startLength < START_BYTES; i++) this.start[this.startLength++] = chunk[i];
    if (this.count === 0 && this.firstLength < FIRST_EVENT_BYTES && to > from) {
      const bytes = chunk.slice(from, Math.min(to, from + FIRST_EVENT_BYTES - this.firstLength));
      this.first.push(bytes);
      this.firstLength += bytes.length;
    }
  }

  completed() {
    if (this.count === 0) {
      const first = new Uint8Array(this.firstLength);
      this.first.reduce((at, bytes) => (first.set(bytes, at), at + bytes.length), 0);
      const m = IDS.exec(new TextDecoder().decode(first));
      if (m) [this.sessionId, this.streamId] = [m[1], m[2]];
      this.first = [];
    }
    this.count++;
    this.final = FINAL.some((f) => f.length <= this.startLength && f.every((b, i) => this.start[i] === b));
    this.startLength = 0;
  }
}

