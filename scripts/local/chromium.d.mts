export declare const CHROMIUM: string;
export declare function chromiumAvailable(): boolean;
export declare function dumpDom(htmlFile: string): Promise<string>;
export declare function screenshot(htmlFile: string, pngFile: string, size?: { width?: number; height?: number }): Promise<unknown>;
