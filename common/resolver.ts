/**
 * Name resolution for the egress policy: every address a host name resolves to, as the
 * connection itself would see them (getaddrinfo, /etc/hosts included). Injectable so tests can
 * play a DNS-rebinding resolver without a writable /etc/hosts.
 */
import { lookup } from 'node:dns/promises';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });
