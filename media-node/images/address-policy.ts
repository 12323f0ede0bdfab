import { isIPv4, isIPv6 } from "node:net";

/**
 * Which IP addresses an untrusted URL may make media-node connect to (SSRF defence).
 *
 * Only globally routable unicast addresses pass. Everything media-node could reach that the
 * public cannot — private ranges, loopback, link-local, CGNAT, unique-local IPv6, cloud
 * metadata endpoints — and everything that is not a real destination (unspecified,
 * multicast, documentation, reserved) is refused with a reason a person can act on.
 * IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
 * embedded address, so `::ffff:10.0.0.5` cannot smuggle a private address through.
 */

export type AddressRefusal =
  | "metadata"
  | "loopback"
  | "private"
  | "link-local"
  | "carrier-grade NAT"
  | "unique-local"
  | "unspecified"
  | "multicast"
  | "reserved"
  | "documentation";

interface Range {
  base: bigint;
  prefix: number;
  reason: AddressRefusal;
}

function v4(text: string): bigint {
  return text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** 128-bit value of an IPv6 address (zone id stripped; dotted IPv4 tail allowed). */
function v6(text: string): bigint {
  let address = text.split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const value = v4(dotted[1]!);
    address = `${address.slice(0, -dotted[1]!.length)}${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
  }
  const [head, tail] = address.split("::") as [string, string | undefined];
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array<string>(missing).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(Number.parseInt(part || "0", 16)), 0n);
}

function range4(cidr: string, reason: AddressRefusal): Range {
  const [base, prefix] = cidr.split("/") as [string, string];
  return { base: v4(base), prefix: Number(prefix), reason };
}

function range6(cidr: string, reason: AddressRefusal): Range {
  const [base, prefix] = cidr.split("/") as [string, string];
  return { base: v6(base), prefix: Number(prefix), reason };
}

// Most specific first: the metadata /32s sit inside broader ranges and must win the label.
const IPV4_RANGES: Range[] = [
  range4("169.254.169.254/32", "metadata"), // AWS, GCP, Azure, OpenStack, DigitalOcean…
  range4("169.254.170.2/32", "metadata"), // AWS ECS task metadata
  range4("168.63.129.16/32", "metadata"), // Azure WireServer (a public address!)
  range4("100.100.100.200/32", "metadata"), // Alibaba Cloud
  range4("192.0.0.192/32", "metadata"), // Oracle Cloud
  range4("0.0.0.0/8", "unspecified"),
  range4("10.0.0.0/8", "private"),
  range4("100.64.0.0/10", "carrier-grade NAT"),
  range4("127.0.0.0/8", "loopback"),
  range4("169.254.0.0/16", "link-local"),
  range4("172.16.0.0/12", "private"),
  range4("192.0.0.0/24", "reserved"), // IETF protocol assignments
  range4("192.0.2.0/24", "documentation"),
  range4("192.88.99.0/24", "reserved"), // deprecated 6to4 relay anycast
  range4("192.168.0.0/16", "private"),
  range4("198.18.0.0/15", "reserved"), // benchmarking
  range4("198.51.100.0/24", "documentation"),
  range4("203.0.113.0/24", "documentation"),
  range4("224.0.0.0/4", "multicast"),
  range4("240.0.0.0/4", "reserved"), // includes 255.255.255.255
];

const IPV6_RANGES: Range[] = [
  range6("fd00:ec2::254/128", "metadata"), // AWS IMDS over IPv6
  range6("::/128", "unspecified"),
  range6("::1/128", "loopback"),
  range6("64:ff9b:1::/48", "private"), // local-use NAT64
  range6("100::/64", "reserved"), // discard-only
  range6("2001:db8::/32", "documentation"),
  range6("fc00::/7", "unique-local"),
  range6("fe80::/10", "link-local"),
  range6("fec0::/10", "private"), // deprecated site-local, still routed inside some networks
  range6("ff00::/8", "multicast"),
];

function inRange(value: bigint, bits: number, { base, prefix }: Range): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === base >> shift;
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** The IPv4 address an IPv6 address stands for, when it is one of the embedding forms. */
function embeddedIPv4(value: bigint): string | null {
  const high96 = value >> 32n;
  if (high96 === 0xffffn) return formatV4(value & 0xffffffffn); // ::ffff:a.b.c.d (mapped)
  if (high96 === 0n) return formatV4(value & 0xffffffffn); // ::a.b.c.d (deprecated compatible)
  if (high96 === v6("64:ff9b::") >> 32n) return formatV4(value & 0xffffffffn); // NAT64 well-known prefix
  if (value >> 112n === 0x2002n) return formatV4((value >> 80n) & 0xffffffffn); // 6to4
  return null;
}

/** Why media-node must not connect to `address`, or null when it is a public unicast address. */
export function refuseAddress(address: string): AddressRefusal | null {
  if (isIPv4(address)) {
    const value = v4(address);
    return IPV4_RANGES.find((r) => inRange(value, 32, r))?.reason ?? null;
  }
  if (isIPv6(address.split("%")[0]!)) {
    const value = v6(address);
    const named = IPV6_RANGES.find((r) => inRange(value, 128, r));
    if (named) return named.reason;
    const embedded = embeddedIPv4(value);
    if (embedded !== null) return refuseAddress(embedded);
    // Only 2000::/3 is allocated as global unicast; anything else is not a real destination.
    if (value >> 125n !== 1n) return "reserved";
    return null;
  }
  return "reserved";
}
