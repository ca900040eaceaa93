// The combiner function is the package's own handler. It is installed, not bundled: its report
// writers load templates and assets from their package directories at run time.
export { handler } from 'lambda-coverage/combiner';
