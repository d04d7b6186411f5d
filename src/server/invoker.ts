// The server and the Electron main process reach the service through an Invoker: either the service object
// in the same process (tests, `serve --in-process`) or a compute process hosting it (ComputeClient).

import type { EmfmapApi, JobContext } from '../service/api.ts';
import { type ApiMethod, type ChannelArgs, CHANNELS, type Channel, type ChannelResult } from '../service/channels.ts';

export interface Invoker {
  /** Call a service method with already validated arguments. */
  invoke<K extends ApiMethod>(method: K, args: ChannelArgs[K], ctx?: JobContext): Promise<ChannelResult<K>>;
  close(): Promise<void> | void;
}

export function inProcessInvoker(api: EmfmapApi & { close?(): void }): Invoker {
  return {
    async invoke<K extends ApiMethod>(method: K, args: ChannelArgs[K], ctx?: JobContext): Promise<ChannelResult<K>> {
      const ch = CHANNELS[method] as Channel<K>;
      return (await ch.call(api, args, ctx)) as ChannelResult<K>;
    },
    close() {
      api.close?.();
    },
  };
}
