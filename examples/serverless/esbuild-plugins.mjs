// serverless-esbuild loads this file (custom.esbuild.plugins) and passes the array to esbuild.
import { coverageInstrument } from 'lambda-coverage/esbuild';

export default [coverageInstrument()];
