/**
 * Resolves CloudFormation intrinsic functions in a synthesised template into
 * the values the local runtime uses: fake but stable ARNs in account
 * `000000000000`, table names equal to logical ids, and the REST API's
 * `execute-api` URL rewritten to the local API URL.
 */
import { localVectorBucketArn, localVectorBucketName } from '../memory/s3vectors-store.js';
import { TemplateResolutionError } from './errors.js';

/** Region every local ARN and SDK client uses. */
export const LOCAL_REGION = 'us-east-1';
/** Account id every local ARN uses. */
export const LOCAL_ACCOUNT = '000000000000';

/** One resource of a CloudFormation template, as parsed JSON. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

/** A CloudFormation template, as far as the local runtime reads it. */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

/** Where a value sits, for error messages. */
export interface Where {
  resource: string;
  property: string;
}

/** Settings that decide some resolved values. */
export interface ResolveOptions {
  /** The local API's base URL (no trailing slash); execute-api URLs become this. */
  apiUrl?: string;
  /** @default 'ChaperoneLocal' */
  stackName?: string;
}

const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

const arnOf = (service: string, rest: string): string =>
  `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${rest}`;

/** The local ARN of a Lambda function. */
export const localFunctionArn = (name: string): string => arnOf('lambda', `function:${name}`);
/** The local ARN of a state machine. */
export const localStateMachineArn = (name: string): string => arnOf('states', `stateMachine:${name}`);

const EXECUTE_API = /^https:\/\/([^./]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com\/([^/]+)(\/.*)?$/;

/** Resolves intrinsic functions against one template. */
export class IntrinsicResolver {
  private readonly stackName: string;

  constructor(
    private readonly template: CfnTemplate,
    private readonly options: ResolveOptions = {},
  ) {
    this.stackName = options.stackName ?? 'ChaperoneLocal';
  }

  /** Resolves every intrinsic inside `value`; `AWS::NoValue` drops the key or item. */
  resolve(value: unknown, where: Where): unknown {
    const out = this.walk(value, where);
    return out === NO_VALUE ? undefined : out;
  }

  /** Resolves `value` and insists the result is a string. */
  resolveString(value: unknown, where: Where): string {
    const out = this.resolve(value, where);
    if (typeof out === 'string') return out;
    if (typeof out === 'number' || typeof out === 'boolean') return String(out);
    throw new TemplateResolutionError(
      where.resource,
      where.property,
      `expected a string, got ${JSON.stringify(out)}`,
    );
  }

  /** What `Ref` returns for a resource, parameter or pseudo parameter. */
  ref(name: string, where: Where): unknown {
    switch (name) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return arnOf('cloudformation', `stack/${this.stackName}/00000000-0000-0000-0000-000000000000`);
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const param = this.template.Parameters?.[name];
    if (param) {
      if (param.Default === undefined) throw this.fail(where, `parameter ${name} has no Default`);
      return param.Default;
    }
    const resource = this.template.Resources[name];
    if (!resource) throw this.fail(where, `Ref to unknown resource or parameter ${name}`);
    switch (resource.Type) {
      case 'AWS::StepFunctions::StateMachine':
        return localStateMachineArn(name);
      case 'AWS::SNS::Topic':
        return arnOf('sns', name);
      case 'AWS::SecretsManager::Secret':
        return arnOf('secretsmanager', `secret:${name}-000000`);
      case 'AWS::ApiGateway::Stage':
        return this.resolveString(resource.Properties?.StageName ?? 'prod', {
          resource: name,
          property: 'Properties.StageName',
        });
      case 'AWS::SQS::Queue':
        return `http://sqs.${LOCAL_REGION}.localhost/${LOCAL_ACCOUNT}/${name}`;
      case 'AWS::Lambda::Function':
        return this.physicalName(name, 'FunctionName');
      case 'AWS::DynamoDB::Table':
        return this.physicalName(name, 'TableName');
      default:
        // REST APIs, API resources, roles, …: their id is the logical id.
        return name;
    }
  }

  /** What `Fn::GetAtt` returns. */
  getAtt(name: string, attribute: string, where: Where): unknown {
    const resource = this.template.Resources[name];
    if (!resource) throw this.fail(where, `Fn::GetAtt of unknown resource ${name}`);
    const key = `${resource.Type}.${attribute}`;
    switch (key) {
      case 'AWS::Lambda::Function.Arn':
        return localFunctionArn(this.physicalName(name, 'FunctionName'));
      case 'AWS::StepFunctions::StateMachine.Arn':
        return localStateMachineArn(name);
      case 'AWS::StepFunctions::StateMachine.Name':
        return name;
      case 'AWS::DynamoDB::Table.Arn':
        return arnOf('dynamodb', `table/${this.physicalName(name, 'TableName')}`);
      case 'AWS::DynamoDB::Table.StreamArn':
        return arnOf(
          'dynamodb',
          `table/${this.physicalName(name, 'TableName')}/stream/1970-01-01T00:00:00.000`,
        );
      case 'AWS::SNS::Topic.TopicArn':
        return arnOf('sns', name);
      case 'AWS::SNS::Topic.TopicName':
        return name;
      case 'AWS::SecretsManager::Secret.Id':
        return arnOf('secretsmanager', `secret:${name}-000000`);
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return `${name}/`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}`;
      case 'AWS::SQS::Queue.Arn':
        return arnOf('sqs', name);
      case 'AWS::Bedrock::Guardrail.GuardrailArn':
        return arnOf('bedrock', `guardrail/${name}`);
      case 'AWS::Bedrock::Guardrail.GuardrailId':
        return name;
      case 'AWS::Bedrock::GuardrailVersion.Version':
        return '1';
      case 'AWS::Logs::LogGroup.Arn':
        return arnOf('logs', `log-group:${name}:*`);
      case 'AWS::S3Vectors::VectorBucket.VectorBucketArn':
        return localVectorBucketArn(
          localVectorBucketName(name, resource.Properties),
          LOCAL_REGION,
          LOCAL_ACCOUNT,
        );
    }
    if (attribute === 'Arn') return arnOf(resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown', name);
    throw this.fail(where, `Fn::GetAtt ${name}.${attribute} (${resource.Type}) has no local value`);
  }

  /** A literal name property (`TableName`, `FunctionName`) if the template sets one, else the logical id. */
  private physicalName(logicalId: string, property: string): string {
    const value = this.template.Resources[logicalId]?.Properties?.[property];
    return typeof value === 'string' ? value : logicalId;
  }

  private fail(where: Where, reason: string): TemplateResolutionError {
    return new TemplateResolutionError(where.resource, where.property, reason);
  }

  private walk(value: unknown, where: Where): unknown {
    if (Array.isArray(value)) {
      return value
        .map((v, i) => this.walk(v, { ...where, property: `${where.property}[${i}]` }))
        .filter((v) => v !== NO_VALUE);
    }
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (
      entries.length === 1 &&
      first &&
      (first[0] === 'Ref' || first[0].startsWith('Fn::') || first[0] === 'Condition')
    ) {
      return this.intrinsic(first[0], first[1], where);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = this.walk(v, { ...where, property: `${where.property}.${k}` });
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private intrinsic(fn: string, arg: unknown, where: Where): unknown {
    const inner = { ...where, property: `${where.property}.${fn}` };
    switch (fn) {
      case 'Ref':
        if (typeof arg !== 'string') throw this.fail(inner, 'Ref takes a name');
        return this.ref(arg, inner);
      case 'Fn::GetAtt': {
        const parts =
          typeof arg === 'string'
            ? arg.split('.')
            : Array.isArray(arg)
              ? arg.map((a) => this.walk(a, inner))
              : [];
        const [res, ...attr] = parts;
        if (typeof res !== 'string' || attr.length === 0)
          throw this.fail(inner, 'Fn::GetAtt takes [resource, attribute]');
        return this.getAtt(res, attr.join('.'), inner);
      }
      case 'Fn::Join': {
        const [delim, list] = this.args(arg, 2, inner);
        const items = this.walk(list, inner);
        if (typeof delim !== 'string' || !Array.isArray(items))
          throw this.fail(inner, 'Fn::Join takes [delimiter, list]');
        return this.localUrl(items.map((i) => this.scalar(i, inner)).join(delim));
      }
      case 'Fn::Sub':
        return this.localUrl(this.sub(arg, inner));
      case 'Fn::Select': {
        const [index, list] = this.args(arg, 2, inner).map((a) => this.walk(a, inner));
        if (!Array.isArray(list)) throw this.fail(inner, 'Fn::Select takes [index, list]');
        const item: unknown = list[Number(index)];
        if (item === undefined) throw this.fail(inner, `Fn::Select index ${String(index)} is out of range`);
        return item;
      }
      case 'Fn::Split': {
        const [delim, source] = this.args(arg, 2, inner).map((a) => this.walk(a, inner));
        if (typeof delim !== 'string' || typeof source !== 'string')
          throw this.fail(inner, 'Fn::Split takes [delimiter, string]');
        return source.split(delim);
      }
      case 'Fn::GetAZs':
        return [`${LOCAL_REGION}a`, `${LOCAL_REGION}b`, `${LOCAL_REGION}c`];
      case 'Fn::Base64':
        return Buffer.from(this.scalar(this.walk(arg, inner), inner)).toString('base64');
      case 'Fn::ToJsonString':
        return JSON.stringify(this.walk(arg, inner));
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = this.args(arg, 3, inner);
        return this.walk(this.condition(cond, inner) ? whenTrue : whenFalse, inner);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Condition':
        return this.condition({ [fn]: arg }, inner);
      default:
        throw this.fail(inner, `${fn} is not supported by the local runtime`);
    }
  }

  private condition(value: unknown, where: Where): boolean {
    if (typeof value === 'string') {
      const def = this.template.Conditions?.[value];
      if (def === undefined) throw this.fail(where, `unknown condition ${value}`);
      return this.condition(def, where);
    }
    if (typeof value !== 'object' || value === null) return Boolean(value);
    const [[fn, arg] = ['', undefined]] = Object.entries(value);
    const list = Array.isArray(arg) ? arg : [arg];
    switch (fn) {
      case 'Condition':
        return this.condition(arg, where);
      case 'Fn::Equals':
        return JSON.stringify(this.walk(list[0], where)) === JSON.stringify(this.walk(list[1], where));
      case 'Fn::Not':
        return !this.condition(list[0], where);
      case 'Fn::And':
        return list.every((c) => this.condition(c, where));
      case 'Fn::Or':
        return list.some((c) => this.condition(c, where));
      default:
        throw this.fail(where, `${fn} is not a condition function`);
    }
  }

  private sub(arg: unknown, where: Where): string {
    const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
    if (typeof text !== 'string') throw this.fail(where, 'Fn::Sub takes a string or [string, variables]');
    const resolvedVars = this.walk(vars ?? {}, where);
    const table =
      typeof resolvedVars === 'object' && resolvedVars !== null
        ? (resolvedVars as Record<string, unknown>)
        : {};
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_all, bang: string, name: string) => {
      if (bang === '!') return `\${${name}}`;
      if (name in table) return this.scalar(table[name], where);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::'))
        return this.scalar(this.getAtt(name.slice(0, dot), name.slice(dot + 1), where), where);
      return this.scalar(this.ref(name, where), where);
    });
  }

  private args(arg: unknown, n: number, where: Where): unknown[] {
    if (!Array.isArray(arg) || arg.length < n) throw this.fail(where, `expected a list of ${n} arguments`);
    return arg;
  }

  private scalar(value: unknown, where: Where): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    throw this.fail(where, `expected a string, got ${JSON.stringify(value)}`);
  }

  /** `https://<api>.execute-api.<region>.amazonaws.com/<stage>/<rest>` → `<apiUrl>/<rest>`. */
  private localUrl(text: string): string {
    const apiUrl = this.options.apiUrl;
    const m = EXECUTE_API.exec(text);
    if (!apiUrl || !m) return text;
    const api = this.template.Resources[m[1] ?? ''];
    if (api?.Type !== 'AWS::ApiGateway::RestApi') return text;
    return `${apiUrl}${m[3] ?? ''}`;
  }
}
