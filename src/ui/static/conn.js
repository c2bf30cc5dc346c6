// The page's one WebSocket: commands with replies, and the messages the server pushes.
import { useEffect, useState } from "preact/hooks";

const listeners = new Set();
export const store = {
  connected: false,
  process: null,
  scan: null,
  list: [],
  live: {},
  progress: {},
  status: null,
  liveRate: 0,
};

function changed() {
  for (const fn of listeners) fn();
}

/** Re-renders the calling component whenever the store changes. */
export function useStore() {
  const [, set] = useState(0);
  useEffect(() => {
    const fn = () => set((n) => n + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return store;
}

let socket = null;
let nextId = 1;
const pending = new Map();
let liveCount = 0;
setInterval(() => {
  store.liveRate = liveCount;
  liveCount = 0;
}, 1000);

export function status(text, level = "info") {
  store.status = { text, level, at: Date.now() };
  changed();
}

/** Sends a command; resolves to its result, rejects with the server's message. */
export function request(cmd, body = {}) {
  return new Promise((resolve, reject) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      reject(new Error("not connected"));
      return;
    }
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ ...body, cmd, rid: id }));
  });
}

/** Like request, but shows an error in the status line instead of throwing. */
export async function act(cmd, body = {}) {
  try {
    return await request(cmd, body);
  } catch (error) {
    status(error.message, "error");
    return undefined;
  }
}

function onMessage(event) {
  const msg = JSON.parse(event.data);
  switch (msg.t) {
    case "reply": {
      const p = pending.get(msg.rid);
      if (!p) return;
      pending.delete(msg.rid);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
      return;
    }
    case "live":
      liveCount++;
      Object.assign(store.live, msg.values);
      break;
    case "hello":
      store.process = msg.process;
      store.scan = msg.scan;
      store.list = msg.list;
      break;
    case "process":
      store.process = msg.process;
      store.live = {};
      break;
    case "scan":
      store.scan = msg.scan;
      break;
    case "list":
      store.list = msg.entries;
      break;
    case "progress":
      store.progress = { ...store.progress, [msg.what]: msg.finished ? null : msg };
      break;
    case "status":
      store.status = { text: msg.text, level: msg.level ?? "info", at: Date.now() };
      break;
    default:
      return;
  }
  changed();
}

export function connect() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.onopen = () => {
    store.connected = true;
    changed();
  };
  socket.onmessage = onMessage;
  socket.onclose = () => {
    store.connected = false;
    for (const p of pending.values()) p.reject(new Error("connection lost"));
    pending.clear();
    changed();
    setTimeout(connect, 1000);
  };
}

/** Re-renders every component that uses the store. */
export function notify() {
  changed();
}

// The tab shown at the bottom right, and where the memory view looks; set from several panels.
export const nav = {
  tab: "processes",
  memAddress: "",
  ptrTarget: null,
  set(change) {
    Object.assign(nav, change);
    changed();
  },
};

