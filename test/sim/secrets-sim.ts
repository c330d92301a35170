/**
 * A loopback AWS Secrets Manager simulator speaking the JSON 1.1 protocol, good enough for
 * `@aws-sdk/client-secrets-manager` pointed at `endpoint: sim.url` with dummy credentials.
 *
 * Operations: GetSecretValue, PutSecretValue, CreateSecret, DescribeSecret. Signatures are not verified,
 * but a SigV4 `authorization` header must be present so a client without credentials is caught.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenLoopback, readBody, sendJson } from "./http-util";

export interface SecretsCall {
  /** The operation name from `x-amz-target` without the `secretsmanager.` prefix, e.g. "GetSecretValue". */
  target: string;
  secretId?: string;
}

export interface SecretsSim {
  url: string;
  /** Creates the secret, or stores a new AWSCURRENT version of it. */
  put(name: string, value: string): void;
  calls: SecretsCall[];
  close(): Promise<void>;
}

export const SIM_ACCOUNT_ID = "000000000000";
const AMZ_JSON = "application/x-amz-json-1.1";
const ARN_RE = /^arn:aws:secretsmanager:([^:]+):(\d{12}):secret:(.+)$/;
const SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

interface SecretVersion {
  versionId: string;
  value: string;
  created: number;
  stages: string[];
}

interface Secret {
  name: string;
  suffix: string;
  created: number;
  changed: number;
  description?: string;
  versions: SecretVersion[];
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const notFound = () =>
  new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");

export async function startSecretsSim(initial: Record<string, string> = {}): Promise<SecretsSim> {
  const secrets = new Map<string, Secret>();
  const calls: SecretsCall[] = [];

  const now = () => Date.now() / 1000;

  function randomSuffix(): string {
    let s = "";
    for (let i = 0; i < 6; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
    return s;
  }

  function arnOf(secret: Secret, region: string): string {
    return `arn:aws:secretsmanager:${region}:${SIM_ACCOUNT_ID}:secret:${secret.name}-${secret.suffix}`;
  }

  function addVersion(secret: Secret, value: string, versionId: string = randomUUID()): SecretVersion {
    const existing = secret.versions.find((v) => v.versionId === versionId);
    if (existing) {
      if (existing.value !== value) {
        throw new AwsError(
          "ResourceExistsException",
          "You can't modify an existing version, you can only create a new version.",
        );
      }
      return existing;
    }
    for (const v of secret.versions) {
      v.stages = v.stages.filter((s) => s !== "AWSPREVIOUS");
      if (v.stages.includes("AWSCURRENT"))
        v.stages = v.stages.filter((s) => s !== "AWSCURRENT").concat("AWSPREVIOUS");
    }
    secret.versions = secret.versions.filter((v) => v.stages.length > 0);
    const version: SecretVersion = { versionId, value, created: now(), stages: ["AWSCURRENT"] };
    secret.versions.push(version);
    secret.changed = version.created;
    return version;
  }

  function create(name: string, value: string | undefined, versionId?: string, description?: string): Secret {
    if (secrets.has(name)) {
      throw new AwsError(
        "ResourceExistsException",
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const t = now();
    const secret: Secret = { name, suffix: randomSuffix(), created: t, changed: t, versions: [] };
    if (description !== undefined) secret.description = description;
    if (value !== undefined) addVersion(secret, value, versionId);
    secrets.set(name, secret);
    return secret;
  }

  function put(name: string, value: string): void {
    const secret = secrets.get(name);
    if (secret) addVersion(secret, value);
    else create(name, value);
  }

  function resolve(secretId: unknown): Secret {
    if (typeof secretId !== "string" || secretId === "") {
      throw new AwsError("InvalidParameterException", "You must provide a SecretId.");
    }
    const m = ARN_RE.exec(secretId);
    if (!m) {
      const byName = secrets.get(secretId);
      if (!byName) throw notFound();
      return byName;
    }
    const [, , account, resource] = m;
    if (account !== SIM_ACCOUNT_ID || resource === undefined) throw notFound();
    for (const secret of secrets.values()) {
      // A full ARN carries the random suffix; a partial ARN is just the name.
      if (resource === `${secret.name}-${secret.suffix}` || resource === secret.name) return secret;
    }
    throw notFound();
  }

  function current(secret: Secret): SecretVersion | undefined {
    return secret.versions.find((v) => v.stages.includes("AWSCURRENT"));
  }

  type Handler = (input: Record<string, unknown>, region: string) => unknown;
  const operations: Record<string, Handler> = {
    GetSecretValue(input, region) {
      const secret = resolve(input.SecretId);
      let version: SecretVersion | undefined;
      if (typeof input.VersionId === "string") {
        version = secret.versions.find((v) => v.versionId === input.VersionId);
      } else {
        const stage = typeof input.VersionStage === "string" ? input.VersionStage : "AWSCURRENT";
        version = secret.versions.find((v) => v.stages.includes(stage));
      }
      if (!version) {
        throw new AwsError(
          "ResourceNotFoundException",
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      }
      return {
        ARN: arnOf(secret, region),
        Name: secret.name,
        SecretString: version.value,
        VersionId: version.versionId,
        VersionStages: [...version.stages],
        CreatedDate: version.created,
      };
    },
    PutSecretValue(input, region) {
      const secret = resolve(input.SecretId);
      if (typeof input.SecretString !== "string") {
        throw new AwsError(
          "InvalidParameterException",
          "You must provide either SecretString or SecretBinary.",
        );
      }
      const token = typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : undefined;
      const version = addVersion(secret, input.SecretString, token);
      return {
        ARN: arnOf(secret, region),
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: [...version.stages],
      };
    },
    CreateSecret(input, region) {
      if (typeof input.Name !== "string" || input.Name === "") {
        throw new AwsError("InvalidParameterException", "You must provide a Name.");
      }
      const token = typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : undefined;
      const value = typeof input.SecretString === "string" ? input.SecretString : undefined;
      const description = typeof input.Description === "string" ? input.Description : undefined;
      const secret = create(input.Name, value, token, description);
      const out: Record<string, unknown> = { ARN: arnOf(secret, region), Name: secret.name };
      const version = current(secret);
      if (version) out.VersionId = version.versionId;
      return out;
    },
    DescribeSecret(input, region) {
      const secret = resolve(input.SecretId);
      const out: Record<string, unknown> = {
        ARN: arnOf(secret, region),
        Name: secret.name,
        CreatedDate: secret.created,
        LastChangedDate: secret.changed,
        VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.versionId, [...v.stages]])),
      };
      if (secret.description !== undefined) out.Description = secret.description;
      return out;
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const targetHeader = req.headers["x-amz-target"];
    const fullTarget = typeof targetHeader === "string" ? targetHeader : "";
    const target = fullTarget.startsWith("secretsmanager.")
      ? fullTarget.slice("secretsmanager.".length)
      : fullTarget;

    let input: Record<string, unknown> = {};
    let parseError: AwsError | undefined;
    try {
      const text = raw.toString("utf8");
      const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        input = parsed as Record<string, unknown>;
      } else {
        parseError = new AwsError("SerializationException", "Request body must be a JSON object.");
      }
    } catch {
      parseError = new AwsError("SerializationException", "Request body is not valid JSON.");
    }

    const call: SecretsCall = { target };
    const id = input.SecretId ?? input.Name;
    if (typeof id === "string") call.secretId = id;
    calls.push(call);

    try {
      const auth = req.headers.authorization;
      if (typeof auth !== "string" || !auth.startsWith("AWS4-HMAC-SHA256")) {
        throw new AwsError("MissingAuthenticationTokenException", "Missing Authentication Token");
      }
      const operation = fullTarget.startsWith("secretsmanager.") ? operations[target] : undefined;
      if (req.method !== "POST" || !operation) {
        throw new AwsError("UnknownOperationException", `Unknown operation ${fullTarget || "(none)"}`);
      }
      if (parseError) throw parseError;
      const output = operation(input, regionFromAuth(auth));
      sendJson(res, 200, output, requestIdHeader(), AMZ_JSON);
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      sendJson(
        res,
        err.status,
        { __type: err.type, message: err.message },
        { "x-amzn-errortype": err.type, ...requestIdHeader() },
        AMZ_JSON,
      );
    }
  }

  for (const [name, value] of Object.entries(initial)) put(name, value);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, { __type: "InternalServiceError", message: String(err) }, {}, AMZ_JSON);
      } else {
        res.destroy();
      }
    });
  });
  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    put,
    calls,
    close: () => closeServer(server),
  };
}

/** Region from the SigV4 credential scope: `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
function regionFromAuth(auth: string): string {
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\//.exec(auth);
  return m?.[1] ?? "us-east-1";
}

function requestIdHeader(): Record<string, string> {
  return { "x-amzn-requestid": randomUUID() };
}
