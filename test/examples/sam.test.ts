import { App, Stack } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../examples/sam/', import.meta.url).pathname;
const templateFile = join(dir, 'template.yaml');

/** CDK's CfnInclude parses the template into typed CloudFormation/SAM resources and checks references. */
function load(file: string) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'lc-sam-')) });
  const stack = new Stack(app, 'Sam');
  const inc = new CfnInclude(stack, 'Template', { templateFile: file });
  return { app, inc };
}

describe('examples/sam', () => {
  it('parses as CloudFormation + SAM with every reference resolved', () => {
    const { app, inc } = load(templateFile);
    expect(inc.getResource('ApiFunction').cfnResourceType).toBe('AWS::Serverless::Function');
    const template = app.synth().getStackByName('Sam').template;
    expect(Object.keys(template.Resources)).toEqual(expect.arrayContaining(['CoverageBucket', 'CoverageLayer', 'CombinerFunction']));
  });

  it('the same parser rejects a broken reference (so the check above can fail)', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'lc-sam-')), 'template.yaml');
    writeFileSync(broken, readFileSync(templateFile, 'utf8').replace('!GetAtt OrdersQueue.Arn', '!GetAtt NoSuchQueue.Arn'));
    expect(() => load(broken)).toThrow(/NoSuchQueue/);
  });

  it('every makefile-built function has its make target, the layer and the exec wrapper', () => {
    const makefile = readFileSync(join(dir, 'Makefile'), 'utf8');
    const { app } = load(templateFile);
    const t = app.synth().getStackByName('Sam').template;
    const fns = Object.entries<any>(t.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
    expect(fns.length).toBe(3);
    for (const [id, r] of fns) {
      expect(r.Metadata?.BuildMethod, id).toBe('makefile');
      expect(makefile, id).toContain(`build-${id}:`);
    }
    const env = t.Globals.Function.Environment.Variables;
    expect(env.COVERAGE_S3_BUCKET).toEqual({ Ref: 'CoverageBucket' });
    expect(JSON.stringify(env.AWS_LAMBDA_EXEC_WRAPPER)).toContain('/opt/lambda-coverage');
  });

  it('functions may write only under their own coverage prefix', () => {
    const { app } = load(templateFile);
    const t = app.synth().getStackByName('Sam').template;
    for (const id of ['ApiFunction', 'QueueFunction']) {
      const r = t.Resources[id];
      const name = r.Properties.FunctionName['Fn::Sub'];
      const [stmt, ...rest] = r.Properties.Policies[0].Statement;
      expect(rest).toEqual([]);
      expect(stmt.Action).toBe('s3:PutObject');
      expect(stmt.Resource['Fn::Sub']).toBe(`arn:\${AWS::Partition}:s3:::\${CoverageBucket}/\${CoveragePrefix}${name}/*`);
    }
    const rules = t.Resources.CoverageBucket.Properties.LifecycleConfiguration.Rules;
    expect(rules[0].ExpirationInDays).toBeGreaterThan(0);
  });
});
