import { describe, expect, it } from 'vitest';
import { TemplateResolutionError } from '../../../../local/runtime/errors.js';
import { IntrinsicResolver } from '../../../../local/runtime/intrinsics.js';

const where = { resource: 'Fn', property: 'Properties.X' };

describe('IntrinsicResolver', () => {
  const r = new IntrinsicResolver(
    {
      Parameters: { Stage: { Type: 'String', Default: 'dev' } },
      Conditions: { IsDev: { 'Fn::Equals': [{ Ref: 'Stage' }, 'dev'] } },
      Resources: {
        Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'runs-table' } },
        Queue: { Type: 'AWS::SQS::Queue' },
      },
    },
    { apiUrl: 'http://127.0.0.1:9' },
  );

  it('resolves Sub with literals, attributes and variables; If; NoValue; parameters', () => {
    const value = r.resolve(
      {
        sub: { 'Fn::Sub': ['${!Keep} ${Table} ${Table.Arn} ${Name}', { Name: { Ref: 'Stage' } }] },
        when: { 'Fn::If': ['IsDev', 'yes', 'no'] },
        gone: { Ref: 'AWS::NoValue' },
        list: ['a', { Ref: 'AWS::NoValue' }, 'b'],
        json: { 'Fn::ToJsonString': { a: { Ref: 'Stage' } } },
      },
      where,
    );

    expect(value).toEqual({
      sub: '${Keep} runs-table arn:aws:dynamodb:us-east-1:000000000000:table/runs-table dev',
      when: 'yes',
      list: ['a', 'b'],
      json: '{"a":"dev"}',
    });
  });

  it('fails on an attribute it has no local value for, naming where', () => {
    expect(() => r.resolve({ 'Fn::GetAtt': ['Table', 'Nope'] }, where)).toThrow(TemplateResolutionError);
    expect(() => r.resolve({ 'Fn::ImportValue': 'x' }, where)).toThrow(
      /Fn\.Properties\.X\.Fn::ImportValue: Fn::ImportValue is not supported/,
    );
  });
});
