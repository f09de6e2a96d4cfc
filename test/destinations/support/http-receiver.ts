import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  /** The path and query asked for. */
  url: string;
  body: string;
  /** The body as it came (compressed, if it was). */
  raw: Buffer;
  at: number;
}

/** Answers a request: status and headers. */
export type Responder = (
  request: ReceivedRequest,
  index: number,
) => { status: number; headers?: Record<string, string> };

/** A real HTTP server on loopback recording every request with its raw body. */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  static async start(respond: Responder = () => ({ status: 200 })): Promise<HttpReceiver> {
    const holder: { self?: HttpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const request = { headers: req.headers, url: req.url ?? '', body: raw.toString('utf8'), raw, at: Date.now() };
        const index = holder.self?.requests.push(request) ?? 0;
        const answer = respond(request, index - 1);
        res.writeHead(answer.status, answer.headers).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    holder.self = new HttpReceiver(server, (server.address() as AddressInfo).port);
    return holder.self;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
