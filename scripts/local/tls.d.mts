export declare function selfSignedCert(dir: string): { keyFile: string; certFile: string } | undefined;
