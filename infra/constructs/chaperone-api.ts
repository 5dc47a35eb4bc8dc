import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';
import { consoleLayerDir } from './console-layer.js';

/** CloudFormation metadata key on the RestApi (value `true`): the local runtime serves this API. */
export const API_METADATA_KEY = 'chaperone:api';

export interface ChaperoneApiProps {
  /** The function behind every route (Lambda proxy integration). */
  readonly handler: lambda.IFunction;
  /** The stage, the last part of the base URL. @default 'v1' */
  readonly stageName?: string;
  /** Steady-state requests per second for the whole stage. @default 50 */
  readonly throttlingRateLimit?: number;
  /** Burst requests for the whole stage. @default 100 */
  readonly throttlingBurstLimit?: number;
  /** Retention of the access log group. @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Create the account-wide role API Gateway logs to CloudWatch with. API
   * Gateway needs it once per account and region; turn it off if the account
   * already has one.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Serve `DELETE /runs/{id}/memory` (forget a run's episode) and
   * `PUT /runs/{id}/memory` (mark whether it may be an example), IAM-authorised.
   * @default false (set when a workflow keeps episodic memory)
   */
  readonly memoryRoutes?: boolean;
}

/**
 * The Chaperone HTTP API: `POST /runs`, `GET /runs`, `GET /runs/{id}`,
 * `GET /approvals` and the run console (`GET /console…`) for callers signed
 * with IAM (SigV4); `GET|POST
 * /approvals/{id}` for approvers following an emailed link, authorised by
 * the link's HMAC signature instead. Access logs, X-Ray tracing, stage
 * throttling, and request validation of path parameters and the run body.
 */
export class ChaperoneApi extends Construct {
  /** The REST API. */
  public readonly api: apigateway.RestApi;
  /** The stage's access log group. */
  public readonly accessLogs: logs.LogGroup;
  /** Validates path parameters and, where a model is set, the body. */
  public readonly validator: apigateway.RequestValidator;
  /** The stage's name. */
  public readonly stageName: string;
  /**
   * The run console's static files (its script and style, Chart.js from its
   * npm package) as a layer on the api function, at `/opt/chaperone-console`.
   */
  public readonly consoleLayer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: ChaperoneApiProps) {
    super(scope, id);
    this.stageName = props.stageName ?? 'v1';
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Chaperone: start and inspect runs, review and decide approvals',
      cloudWatchRole: props.cloudWatchRole ?? true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      deployOptions: {
        stageName: this.stageName,
        tracingEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Request and response bodies (run input, approval decisions) stay out of the logs.
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
      },
    });
    (this.api.node.defaultChild as apigateway.CfnRestApi).addMetadata(API_METADATA_KEY, true);

    this.validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const startRunModel = this.api.addModel('StartRun', {
      contentType: 'application/json',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        type: apigateway.JsonSchemaType.OBJECT,
        required: ['workflow'],
        properties: { workflow: { type: apigateway.JsonSchemaType.STRING, minLength: 1 } },
      },
    });

    const integration = new apigateway.LambdaIntegration(props.handler, { timeout: Duration.seconds(29) });
    const iamAuth: apigateway.MethodOptions = {
      authorizationType: apigateway.AuthorizationType.IAM,
      requestValidator: this.validator,
    };
    const withId: apigateway.MethodOptions = { requestParameters: { 'method.request.path.id': true } };

    const runs = this.api.root.addResource('runs');
    runs.addMethod('POST', integration, { ...iamAuth, requestModels: { 'application/json': startRunModel } });
    const run = runs.addResource('{id}');
    run.addMethod('GET', integration, { ...iamAuth, ...withId });
    // Redrive a run whose execution failed for a platform reason (a named stop is refused, 409).
    run.addResource('redrive').addMethod('POST', integration, { ...iamAuth, ...withId });

    runs.addMethod('GET', integration, {
      ...iamAuth,
      requestParameters: Object.fromEntries(
        ['status', 'workflow', 'tenant', 'q', 'limit'].map((q) => [`method.request.querystring.${q}`, false]),
      ),
    });

    // The run console, behind the same IAM authorisation as the runs API: its page, its
    // files, and the read models its script asks for (nothing in it is secret).
    const consolePage = this.api.root.addResource('console');
    consolePage.addMethod('GET', integration, iamAuth);
    consolePage.addResource('metrics').addMethod('GET', integration, iamAuth);
    // `?id=<approval>`: one approval in any status (what its approvers were shown, who decided).
    consolePage.addResource('approvals').addMethod('GET', integration, {
      ...iamAuth,
      requestParameters: { 'method.request.querystring.id': false },
    });
    consolePage.addResource('{file}').addMethod('GET', integration, {
      ...iamAuth,
      requestParameters: { 'method.request.path.file': true },
    });
    this.consoleLayer = new lambda.LayerVersion(this, 'ConsoleFiles', {
      code: lambda.Code.fromAsset(consoleLayerDir()),
      description: 'Chaperone run console: console.js, console.css and Chart.js (served by the api function)',
      compatibleArchitectures: [lambda.Architecture.ARM_64],
    });
    if (props.handler instanceof lambda.Function) props.handler.addLayers(this.consoleLayer);
    if (props.memoryRoutes) {
      const memory = run.addResource('memory');
      for (const method of ['DELETE', 'PUT'])
        memory.addMethod(method, integration, { ...iamAuth, ...withId });
    }

    const approvals = this.api.root.addResource('approvals');
    approvals.addMethod('GET', integration, {
      ...iamAuth,
      requestParameters: { 'method.request.querystring.status': false },
    });
    const approval = approvals.addResource('{id}');
    const signedLink: apigateway.MethodOptions = {
      authorizationType: apigateway.AuthorizationType.NONE,
      requestValidator: this.validator,
      ...withId,
    };
    for (const method of [
      approval.addMethod('GET', integration, signedLink),
      approval.addMethod('POST', integration, signedLink),
    ]) {
      acknowledge(
        method,
        'AwsSolutions-APIG4',
        'Approvers open this route from an emailed link and have no AWS identity: the link is HMAC-signed over id and expiry (verified in the api function), GET changes nothing, POST decides once.',
      );
    }

    acknowledge(
      this.api,
      'AwsSolutions-COG4',
      'Callers are authorised with IAM (SigV4) on the run and approval-list routes and by HMAC-signed links on the approval routes; there is no Cognito user pool.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG3',
      'No WAF web ACL by default: IAM authorisation, signed links and stage throttling bound abuse; attach a web ACL to the stage where policy requires one.',
    );
    if (props.cloudWatchRole ?? true) {
      acknowledge(
        this.api,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        "API Gateway's account-wide logging role uses the AWS managed policy made for exactly that purpose.",
      );
    }
  }

  /** The run console's URL (IAM-authorised, as the runs API). */
  public get consoleUrl(): string {
    return `${this.api.url}console`;
  }

  /** The base URL of the stage, ending in `/` (depends on the stage resource). */
  public get url(): string {
    return this.api.url;
  }

  /**
   * The same base URL built from the API's id and the stage name, so a
   * resource that the API's own routes depend on (the approval function,
   * through the state machines) can hold it without a dependency cycle.
   */
  public get baseUrl(): string {
    const stack = Stack.of(this);
    return `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.stageName}/`;
  }
}
