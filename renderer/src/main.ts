// Renderer entry: connect to the service (browser mode or Electron), then mount the interface.

import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { connectApi } from './lib/api.ts';
import { AppState, setApp } from './lib/state.svelte.ts';

const target = document.getElementById('app')!;
try {
  const state = new AppState(connectApi());
  setApp(state);
  mount(App, { target });
} catch (err) {
  const p = document.createElement('p');
  p.className = 'fatal';
  p.textContent = `emfmap cannot start: ${(err as Error).message}`;
  target.replaceChildren(p);
}
