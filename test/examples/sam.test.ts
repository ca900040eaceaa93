import { App, Stack } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../examples/sam/', import.meta.url).pathname;
const templateFile = join(dir, 'template.yaml');

/** cfn-lint (Python, with AWS's SAM translator): the CloudFormation and SAM schemas. */
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
if (!cfnLint) console.warn('examples/sam: cfn-lint not found (pip install cfn-lint); schema check skipped');
const lint = (file: string) => spawnSync('cfn-lint', ['--format', 'json', file], { encoding: 'utf8' });

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

  it.skipIf(!cfnLint)('is valid against the CloudFormation and SAM schemas (cfn-lint: no error, no warning)', () => {
    const r = lint(templateFile);
    expect(JSON.parse(r.stdout || '[]'), r.stderr).toEqual([]);
    expect(r.status).toBe(0);
  });

  it.skipIf(!cfnLint)('cfn-lint rejects a property SAM does not know (so the check above can fail)', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'lc-sam-')), 'template.yaml');
    writeFileSync(broken, readFileSync(templateFile, 'utf8').replace('      MemorySize: 2048\n', '      MemorySize: 2048\n      MemorySizes: 2048\n'));
    const r = lint(broken);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('MemorySizes');
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
    // The combiner reads the coverage prefix and writes only under {prefix}combined/; it is not measured itself.
    const combiner = t.Resources.CombinerFunction.Properties;
    expect(combiner.Environment.Variables.COVERAGE_ENABLED).toBe('0');
    const grants = Object.fromEntries(combiner.Policies[0].Statement.map((st: any) => [st.Action, st.Resource['Fn::Sub']]));
    expect(grants).toEqual({
      's3:ListBucket': 'arn:${AWS::Partition}:s3:::${CoverageBucket}',
      's3:GetObject': 'arn:${AWS::Partition}:s3:::${CoverageBucket}/${CoveragePrefix}*',
      's3:PutObject': 'arn:${AWS::Partition}:s3:::${CoverageBucket}/${CoveragePrefix}combined/*',
    });
    expect(combiner.Policies[0].Statement[0].Condition).toEqual({ StringLike: { 's3:prefix': { 'Fn::Sub': '${CoveragePrefix}*' } } });
    const rules = t.Resources.CoverageBucket.Properties.LifecycleConfiguration.Rules;
    expect(rules[0].ExpirationInDays).toBeGreaterThan(0);
  });
});
