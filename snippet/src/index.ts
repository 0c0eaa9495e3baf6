import { install } from './tracker.js';

// Why capture now: document.currentScript is only set while this file first runs.
install(document.currentScript as HTMLScriptElement | null);
