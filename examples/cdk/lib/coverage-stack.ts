import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface CoverageStackProps extends StackProps {
  /** Instrumented build + layer on (test stages). Production stacks leave it off. */
  coverage: boolean;
  /** The layer zip from `npx lambda-coverage layer --out …`. */
  layerZip: string;
  /** Directory holding the example's build.mjs (run at synth time with COVERAGE_ENABLED set). */
  projectDir: string;
  /** Where build.mjs writes one directory per function. @default `${projectDir}/dist` */
  buildDir?: string;
  /** @default 'coverage/' */
  prefix?: string;
}

/**
 * CDK's NodejsFunction passes no esbuild plugins, so the functions are bundled by our own esbuild
 * script (with coverageInstrument()) through Code.fromCustomCommand, which runs it at synth time.
 */
export class CoverageStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly functions: lambda.Function[] = [];

  constructor(scope: Construct, id: string, props: CoverageStackProps) {
    super(scope, id, props);
    const prefix = props.prefix ?? 'coverage/';
    const buildDir = props.buildDir ?? `${props.projectDir}/dist`;

    this.bucket = new s3.Bucket(this, 'CoverageBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-coverage', prefix, expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const layer = props.coverage
      ? new lambda.LayerVersion(this, 'CoverageLayer', {
          code: lambda.Code.fromAsset(props.layerZip),
          compatibleRuntimes: [lambda.Runtime.NODEJS_22_X, lambda.Runtime.NODEJS_24_X],
          description: 'lambda-coverage runtime: uploads Istanbul counters to S3 after each invocation',
        })
      : undefined;

    for (const name of ['api', 'queue', 'nightly']) {
      const functionName = `${this.stackName}-${name}`;
      const fn = new lambda.Function(this, `${name}Function`, {
        functionName,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        handler: 'index.handler',
        memorySize: 512,
        timeout: Duration.seconds(10),
        code: lambda.Code.fromCustomCommand(`${buildDir}/${name}`, [
          'node', `${props.projectDir}/build.mjs`, buildDir, name,
        ], { commandOptions: { env: { ...process.env, COVERAGE_ENABLED: props.coverage ? '1' : '0' } } }),
        layers: layer ? [layer] : [],
        environment: props.coverage
          ? {
              COVERAGE_ENABLED: '1',
              COVERAGE_S3_BUCKET: this.bucket.bucketName,
              COVERAGE_S3_PREFIX: prefix,
              AWS_LAMBDA_EXEC_WRAPPER: '/opt/lambda-coverage',
            }
          : {},
      });
      if (props.coverage) {
        // Least privilege: this function may only write under its own coverage prefix.
        fn.addToRolePolicy(new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(`${prefix}${functionName}/*`)],
        }));
      }
      this.functions.push(fn);
    }
  }
}
