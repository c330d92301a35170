import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** Powertools' service name and metrics namespace: the alarms watch the metrics published under them. */
export const POWERTOOLS_SERVICE = "patrol";
export const METRICS_NAMESPACE = "patrol";

/** The repository's root, where package-lock.json and lambdas/ live. */
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Makes CommonJS dependencies (the Slack SDK, Powertools' internals) work inside an ESM bundle. */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export interface PatrolFunctionProps {
  /** The handler module's name in lambdas/handlers/ (it exports `handler`). */
  handler: string;
  /** A name an operator can type (`aws lambda invoke --function-name …`); its logs go to /aws/lambda/<name>. */
  functionName: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  logRetention: RetentionDays;
  /** Names and ARNs only: secret values are read at cold start from Secrets Manager, never passed here. */
  environment: Record<string, string>;
  /** Lambda's own retries of an asynchronous invocation that failed. */
  retryAttempts?: number;
  /** Concurrency kept for this function, and its ceiling: a flood of requests cannot take more. */
  reservedConcurrentExecutions?: number;
}

/**
 * A patrol Lambda with the defaults fixed once: Node 24 on arm64, one minified ESM bundle with its AWS SDK
 * clients and a source map, X-Ray tracing, its own log group with a stated retention, and a role that can
 * write to that log group and nothing else until the stack grants it the ledger and the secrets.
 */
export class PatrolFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PatrolFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      // Logs go with the stack; the ledger (retained) is the record of what patrol did.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole, whose log permissions reach every log group.
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `patrol ${props.handler} Lambda`,
    });
    this.logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, "Function", {
      functionName: props.functionName,
      entry: `${PROJECT_ROOT}lambdas/handlers/${props.handler}.ts`,
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      ...(props.retryAttempts !== undefined ? { retryAttempts: props.retryAttempts } : {}),
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: POWERTOOLS_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // Stack traces point into lambdas/*.ts rather than the minified bundle.
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: true,
        // The map carries positions, not a second copy of the sources: the asset stays small.
        sourcesContent: false,
        banner: ESM_REQUIRE_BANNER,
        // Bundle the AWS SDK too: the runtime's copy is not pinned, ours is the one the tests ran.
        externalModules: [],
        forceDockerBundling: false,
      },
    });

    Validations.of(role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so Tracing.ACTIVE grants them on *. Every other statement of this role names its log group, the ledger table, a Lambda or the secrets it reads.",
    });
  }
}
