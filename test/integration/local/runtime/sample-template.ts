/**
 * A hand-written template that follows the stack's conventions (handler and
 * workflow metadata, GetAtt ARNs inside a DefinitionString Fn::Join, an API
 * Gateway resource tree with Lambda proxy methods). Tests that do not need a
 * real synth use it; `template.test.ts` also reads the real synthesised one.
 */
import type { CfnTemplate } from '../../../../local/runtime/template.js';

const FIXTURES = 'test/integration/local/runtime/fixtures';
const arnOf = (fn: string) => ({ 'Fn::GetAtt': [fn, 'Arn'] });
const proxy = (fn: string) => ({
  Type: 'AWS_PROXY',
  IntegrationHttpMethod: 'POST',
  Uri: {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':apigateway:',
        { Ref: 'AWS::Region' },
        ':lambda:path/2015-03-31/functions/',
        arnOf(fn),
        '/invocations',
      ],
    ],
  },
});
const method = (resourceId: unknown, httpMethod: string) => ({
  Type: 'AWS::ApiGateway::Method',
  Properties: {
    RestApiId: { Ref: 'Api' },
    ResourceId: resourceId,
    HttpMethod: httpMethod,
    AuthorizationType: 'AWS_IAM',
    Integration: proxy('ApiFunction'),
  },
});

/** A fresh copy of the sample template. */
export function sampleTemplate(): CfnTemplate {
  return {
    Parameters: {
      BootstrapVersion: {
        Type: 'AWS::SSM::Parameter::Value<String>',
        Default: '/cdk-bootstrap/hnb659fds/version',
      },
    },
    Resources: {
      RunsTable: {
        Type: 'AWS::DynamoDB::Table',
        Metadata: { 'chaperone:table': 'runs' },
        Properties: {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'workflow', AttributeType: 'S' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byWorkflow',
              KeySchema: [
                { AttributeName: 'workflow', KeyType: 'HASH' },
                { AttributeName: 'sk', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
      ApprovalsTable: {
        Type: 'AWS::DynamoDB::Table',
        Metadata: { 'chaperone:table': 'approvals' },
        Properties: {
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
      AlertTopic: { Type: 'AWS::SNS::Topic' },
      ApprovalSecret: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
      },
      FunctionRole: { Type: 'AWS::IAM::Role', Properties: {} },
      StepFunction: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'chaperone:handler': `${FIXTURES}/echo-handler.ts` },
        Properties: {
          Role: arnOf('FunctionRole'),
          Timeout: 30,
          MemorySize: 512,
          Environment: {
            Variables: {
              RUNS_TABLE: { Ref: 'RunsTable' },
              ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
              APPROVAL_SECRET_ARN: { Ref: 'ApprovalSecret' },
              GREETING: { 'Fn::Sub': 'hello from ${AWS::Region} via ${RunsTable.Arn}' },
              FIRST_AZ: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
              LAST_PART: {
                'Fn::Select': [1, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['RunsTable', 'Arn'] }] }],
              },
            },
          },
        },
      },
      ApiFunction: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'chaperone:handler': `${FIXTURES}/api-handler.ts` },
        Properties: {
          Role: arnOf('FunctionRole'),
          Timeout: 10,
          Environment: {
            Variables: {
              RUNS_TABLE: { Ref: 'RunsTable' },
              STATE_MACHINES: {
                'Fn::Join': ['', ['{"invoice-reconciliation":"', { Ref: 'Workflow' }, '"}']],
              },
              APPROVAL_BASE_URL: {
                'Fn::Join': [
                  '',
                  [
                    'https://',
                    { Ref: 'Api' },
                    '.execute-api.',
                    { Ref: 'AWS::Region' },
                    '.',
                    { Ref: 'AWS::URLSuffix' },
                    '/',
                    { Ref: 'ApiStage' },
                    '/',
                  ],
                ],
              },
            },
          },
        },
      },
      CdkHelperFunction: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
      Workflow: {
        Type: 'AWS::StepFunctions::StateMachine',
        Metadata: { 'chaperone:workflow': 'invoice-reconciliation' },
        Properties: {
          DefinitionString: {
            'Fn::Join': [
              '',
              [
                '{"QueryLanguage":"JSONata","StartAt":"Step","States":{"Step":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"',
                arnOf('StepFunction'),
                '","Payload":"{% $states.input %}"},"Output":"{% $states.result.Payload %}","End":true}}}',
              ],
            ],
          },
        },
      },
      Api: {
        Type: 'AWS::ApiGateway::RestApi',
        Metadata: { 'chaperone:api': 'runs' },
        Properties: { Name: 'chaperone' },
      },
      ApiRuns: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: {
          RestApiId: { Ref: 'Api' },
          ParentId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
          PathPart: 'runs',
        },
      },
      ApiRunsId: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: { RestApiId: { Ref: 'Api' }, ParentId: { Ref: 'ApiRuns' }, PathPart: '{id}' },
      },
      ApiApprovals: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: {
          RestApiId: { Ref: 'Api' },
          ParentId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
          PathPart: 'approvals',
        },
      },
      ApiApprovalsId: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: { RestApiId: { Ref: 'Api' }, ParentId: { Ref: 'ApiApprovals' }, PathPart: '{id}' },
      },
      ApiRunsPost: method({ Ref: 'ApiRuns' }, 'POST'),
      ApiRunsIdGet: method({ Ref: 'ApiRunsId' }, 'GET'),
      ApiApprovalsIdGet: method({ Ref: 'ApiApprovalsId' }, 'GET'),
      ApiApprovalsIdPost: method({ Ref: 'ApiApprovalsId' }, 'POST'),
      ApiRunsOptions: {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          RestApiId: { Ref: 'Api' },
          ResourceId: { Ref: 'ApiRuns' },
          HttpMethod: 'OPTIONS',
          Integration: {
            Type: 'MOCK',
            IntegrationResponses: [
              {
                StatusCode: '204',
                ResponseParameters: { 'method.response.header.Access-Control-Allow-Origin': "'*'" },
              },
            ],
          },
        },
      },
      ApiDeployment: { Type: 'AWS::ApiGateway::Deployment', Properties: { RestApiId: { Ref: 'Api' } } },
      ApiStage: {
        Type: 'AWS::ApiGateway::Stage',
        Properties: { RestApiId: { Ref: 'Api' }, DeploymentId: { Ref: 'ApiDeployment' }, StageName: 'prod' },
      },
    },
  };
}
