// placeholder until the metrics library lands; replaced below
export {};
