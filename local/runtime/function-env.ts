/**
 * The environment each local function gets: the template's variables
 * (intrinsics resolved) plus what the local runtime adds so the handlers'
 * real AWS SDK clients reach the local endpoints, the model calls reach the
 * scripted model (or Anthropic), and Lambda's own variables are present.
 */
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalCredentials } from '../aws/local-credentials.js';
import type { LocalFunction } from './template.js';

/** The local endpoints and model settings every function shares. */
export interface LocalEndpoints {
  dynamoUrl: string;
  sfnUrl: string;
  /** The SES/SNS/Secrets Manager/S3 stand-in. */
  servicesUrl: string;
  /** The Lambda Invoke API (the tool step invokes each tool's own function). */
  lambdaUrl?: string;
  /** The API key handed to the model client. */
  anthropicApiKey: string;
  /** Set to point the model client at the scripted model. */
  anthropicBaseUrl?: string;
  /** Handler log level (Powertools); absent keeps the handlers quiet. */
  logLevel?: string;
  /** The key pair the local endpoints accept (the data directory's). @default {@link LOCAL_CREDENTIALS} */
  credentials?: LocalCredentials;
}

/** The AWS variables that point SDK clients at the local endpoints. */
export function awsEndpointEnv(endpoints: LocalEndpoints): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoUrl,
    AWS_ENDPOINT_URL_SFN: endpoints.sfnUrl,
    AWS_ENDPOINT_URL_SESV2: endpoints.servicesUrl,
    AWS_ENDPOINT_URL_SNS: endpoints.servicesUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.servicesUrl,
    AWS_ENDPOINT_URL_S3: endpoints.servicesUrl,
    AWS_ENDPOINT_URL_S3VECTORS: endpoints.servicesUrl,
    // Bedrock embeddings go to the services server's stand-in, also when Claude goes to Anthropic.
    CHAPERONE_EMBEDDINGS_ENDPOINT: endpoints.servicesUrl,
    ...(endpoints.lambdaUrl ? { AWS_ENDPOINT_URL_LAMBDA: endpoints.lambdaUrl } : {}),
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: (endpoints.credentials ?? LOCAL_CREDENTIALS).accessKeyId,
    AWS_SECRET_ACCESS_KEY: (endpoints.credentials ?? LOCAL_CREDENTIALS).secretAccessKey,
  };
}

/** The full environment of one function. */
export function localFunctionEnv(fn: LocalFunction, endpoints: LocalEndpoints): Record<string, string> {
  const env: Record<string, string> = {
    ...fn.env,
    ...awsEndpointEnv(endpoints),
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    // What Lambda would bill it at: the template's architecture, not this machine's.
    CHAPERONE_LAMBDA_ARCHITECTURE: fn.architecture,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    ANTHROPIC_API_KEY: endpoints.anthropicApiKey,
    POWERTOOLS_LOG_LEVEL: endpoints.logLevel ?? 'SILENT',
    // EMF metrics are CloudWatch's input; locally they would only be noise on stdout.
    POWERTOOLS_METRICS_DISABLED: 'true',
    CHAPERONE_LOCAL: '1',
  };
  // NODE_OPTIONS from the template is for the Lambda process, not this one.
  delete env.NODE_OPTIONS;
  if (endpoints.anthropicBaseUrl !== undefined) {
    env.ANTHROPIC_BASE_URL = endpoints.anthropicBaseUrl;
    // The scripted model serves Bedrock's InvokeModel as well: Bedrock agents never reach AWS.
    env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = endpoints.anthropicBaseUrl;
  }
  if (endpoints.logLevel !== undefined) env.CHAPERONE_LOG_LEVEL = endpoints.logLevel;
  return env;
}
