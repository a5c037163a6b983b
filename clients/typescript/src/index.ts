// The Connect2Recover gateway's typed client: openapi-fetch over the types that
// openapi-typescript generates from the merged OpenAPI document (src/schema.ts, never
// edited by hand), plus what every front-end needs around it: the bearer token, problem
// errors, cursor pagination, ETag/If-Match and Idempotency-Key.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, operations, paths } from "./schema";
export type Schemas = components["schemas"];
/** Every error of the API: an RFC 9457 problem (application/problem+json). */
export type Problem = Schemas["Problem"];
export type ApiClient = Client<paths>;

export interface ClientOptions {
  /** The gateway, e.g. https://api.example.org (no trailing slash). */
  baseUrl: string;
  /** A bearer token, or a function giving the current one (called on each request). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Sent as X-Request-ID when given; the gateway makes one otherwise. */
  requestId?: () => string;
  fetch?: typeof globalThis.fetch;
}

export function createC2rClient(options: ClientOptions): ApiClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  client.use(headersMiddleware(options));
  return client;
}

function headersMiddleware(options: ClientOptions): Middleware {
  return {
    async onRequest({ request }) {
      const token = typeof options.token === "function" ? await options.token() : options.token;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      if (options.requestId) request.headers.set("X-Request-ID", options.requestId());
      return request;
    },
  };
}

export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { title?: unknown }).title === "string" &&
    typeof (value as { status?: unknown }).status === "number"
  );
}

/** A refused call, thrown by `ok`: its problem's title, status and field errors. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly status: number;

  constructor(problem: Problem, status: number) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = "ProblemError";
    this.problem = problem;
    this.status = status;
  }

  /** Seconds to wait before retrying (429 and 503 answer Retry-After), if any. */
  static retryAfter(response: Response): number | undefined {
    const value = response.headers.get("Retry-After");
    return value === null ? undefined : Number(value);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or a ProblemError for a refused call. */
export function ok<T>(answer: Answer<T>): T {
  if (answer.error !== undefined || answer.data === undefined) {
    const { error, response } = answer;
    const problem: Problem = isProblem(error)
      ? error
      : {
          type: "about:blank",
          title: response.statusText || "Error",
          status: response.status,
          detail: null,
          instance: null,
          request_id: response.headers.get("X-Request-ID"),
          errors: null,
        };
    throw new ProblemError(problem, response.status);
  }
  return answer.data;
}

/** The entity tag to send back as If-Match when changing what was read. */
export function etagOf(response: Response): string {
  const etag = response.headers.get("ETag");
  if (etag === null) throw new Error("the answer has no ETag header");
  return etag;
}

/** A fresh Idempotency-Key: reuse it when retrying the same POST, and only then. */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

export interface CursorPage<T> {
  items: T[];
  next_cursor?: string | null;
}

/** Every item of a cursor-paginated listing, page after page (`cursor` = next_cursor). */
export async function* allItems<T>(
  page: (cursor: string | undefined) => Promise<CursorPage<T>>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const current = await page(cursor);
    yield* current.items;
    cursor = current.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
