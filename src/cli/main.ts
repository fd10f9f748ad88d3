#!/usr/bin/env node
// The `tailseal` command line.
import { Command, CommanderError, Option } from 'commander';
import { checkpointCommand } from './checkpoint.js';
import { checkSinkCommand } from './check-sink.js';
import { requeueCommand } from './requeue.js';
import { statusCommand } from './status.js';
import { EXIT_USAGE, reportError } from './exit.js';
import { keygen } from './keygen.js';
import { run } from './run.js';
import { VERSION } from '../version.js';
import type { VerifyCliOptions } from './verify.js';
import type { CosignCliOptions } from './cosign.js';
import type { ProveCliOptions, VerifyProofCliOptions } from './prove.js';
import type { ReportCliOptions } from './report.js';
import type { IndexCliOptions } from './index-update.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

const publicKeyOption = () =>
  new Option('--public-key <file>', 'verifier key file (repeat for key rotation)')
    .argParser(collect)
    .makeOptionMandatory();

/** The options of a command that reads a stored trail (verify, prove): where, with which keys, how to reach s3. */
function storeOptions(c: Command): Command {
  return c
    .requiredOption('--store <dir|s3://bucket/prefix>', 'a file sink directory, or an s3 sink bucket and prefix')
    .addOption(publicKeyOption())
    .option('-c, --config <file>', 'with --sink: the config whose s3 sink settings (endpoint, credentials, TLS) to use')
    .option('--sink <name>', 'the s3 sink of --config to read through')
    .option('--endpoint <url>', 's3: endpoint URL (S3-compatible servers)')
    .option('--region <region>', 's3: region (default us-east-1)')
    .option('--path-style', 's3: path-style addressing');
}

function program(): Command {
  const p = new Command('tailseal')
    .description('Seal OPA decision logs into a signed, verifiable trail and ship it to write-once stores.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError();

  p.command('run')
    .description('run the daemon')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--init-key', 'create the signing key named in the config if it does not exist')
    .action(async (o: { config: string; initKey?: boolean }) => {
      process.exitCode = await run(o);
    });

  p.command('keygen')
    .description('write an Ed25519 key pair: <out> (signer, mode 0600) and <out>.pub (verifier)')
    .requiredOption('--name <name>', 'key name, e.g. the checkpoint origin (opa.example.com/pod-a)')
    .requiredOption('--out <file>', 'where to write the signer key')
    .option('--if-missing', 'do nothing when <out> already exists')
    .option('--witness', 'a witness key (cosignature/v1, type 0x04) for tailseal cosign, named like witness.example/w1')
    .action((o: { name: string; out: string; ifMissing?: boolean; witness?: boolean }) => {
      process.exitCode = keygen(o);
    });

  storeOptions(p.command('verify'))
    .description(
      'verify a stored trail; exit 0 when intact, 1 with the first break, ' +
        '3 when intact but s3 holds later versions or delete markers over it (STORE_TAMPERED)',
    )
    .addOption(
      new Option('--latest <file>', 'a trusted newest signed checkpoint (repeatable, one per stream)').argParser(
        collect,
      ),
    )
    .option('--max-age <duration>', 'fail when the newest checkpoint is older than this (e.g. 10m)')
    .option(
      '--min-retention <duration>',
      's3: every object must be under Object Lock until at least this long ' +
        'after it was sealed (its signed checkpoint time; exact, e.g. 365d)',
    )
    .option(
      '--max-object-bytes <size>',
      'refuse (ENTRY_MALFORMED) an object larger than this, stored or after gunzip, ' +
        'instead of reading it into memory (default 256MiB; raise it for objects of a larger checkpoint.max_bytes)',
    )
    .addOption(
      new Option(
        '--witness-key <file>',
        'a trusted witness verifier key file (repeatable): each stream must reach a checkpoint cosigned by ' +
          '--min-witnesses of them (WITNESS_QUORUM otherwise)',
      ).argParser(collect),
    )
    .option('--min-witnesses <n>', 'with --witness-key: how many distinct witnesses must cosign (default 1)')
    .option(
      '--witness-store <dir|s3://bucket/prefix>',
      "with --witness-key: where the witnesses publish cosigned checkpoints (default: the store's own newest " +
        'checkpoints must carry the cosignatures)',
    )
    .option('--json', 'print the result as JSON')
    .option('-v, --verbose', 'list each gap record and duplicate object (the OK line counts gap records by reason)')
    .action(async (o: VerifyCliOptions) => {
      // Loaded on use: verify brings the S3 client, which the daemon needs only for S3 sinks.
      const { verifyCommand } = await import('./verify.js');
      process.exitCode = await verifyCommand(o);
    });

  storeOptions(p.command('cosign'))
    .description(
      'act once as a witness: verify the store as verify does, then per stream cosign the newest checkpoint if it ' +
        'is consistent with the last one this witness cosigned (--state), and write it to --witness-store; exit 0, ' +
        '1 when the store fails verification or a stream forked or rolled back (CHECKPOINT_FORK, not cosigned)',
    )
    .requiredOption('--witness-key <file>', 'the witness signer key (tailseal keygen --witness)')
    .requiredOption(
      '--witness-store <dir|s3://bucket/prefix>',
      'where cosigned checkpoints go: a directory or bucket prefix the writers cannot write',
    )
    .requiredOption('--state <file>', "this witness's memory of what it cosigned (JSON, created when missing)")
    .option('--full', 'verify every object, not only those new since the last run (the state is still checked)')
    .option('--json', 'print the result as JSON')
    .action(async (o: CosignCliOptions) => {
      const { cosignCommand } = await import('./cosign.js');
      process.exitCode = await cosignCommand(o);
    });

  storeOptions(p.command('prove'))
    .description(
      'verify a stored trail as verify does and write a proof bundle for one entry (--stream and --seq) or ' +
        'every entry of a decision_id, against the newest checkpoint; exit 0, or 1 with the first break',
    )
    .option('--stream <name>', 'the stream of the entry (with --seq)')
    .option('--seq <n>', 'the sequence number of the entry (with --stream)')
    .option(
      '--decision-id <id>',
      "every decision entry whose OPA decision_id is this (found by reading the store's entries)",
    )
    .option('--out <file>', 'write the bundle here (must not exist) instead of to stdout')
    .option('--consistency', 'instead: prove that the checkpoint of --old is a prefix of the newest one (no rewrite)')
    .option('--old <file>', 'with --consistency: a signed checkpoint saved earlier (e.g. from tailseal checkpoint)')
    .option(
      '--index <file>',
      "the auditor's index (tailseal index): updated, then only the objects holding the entry read",
    )
    .action(async (o: ProveCliOptions) => {
      const { proveCommand } = await import('./prove.js');
      process.exitCode = await proveCommand(o);
    });

  storeOptions(p.command('report'))
    .description(
      'verify a stored trail and write the completeness report an auditor signs off on: per stream the ' +
        'verdict, range, decisions, gap records, checkpoints and silences, signing keys, the newest checkpoint; ' +
        'what OPA decided (paths, results, bundle revisions, masked fields); s3 Object Lock. Exit 0 written and ' +
        'intact, 1 written but the trail failed verification or was written over (the report says where), 2 usage',
    )
    .option('--since <time>', 'count only entries sealed at or after this (RFC 3339 or Unix ms); all are verified')
    .option('--until <time>', 'count only entries sealed at or before this (RFC 3339 or Unix ms)')
    .option(
      '--max-silence <duration>',
      'list times without a checkpoint longer than this as silences (default 2m: twice checkpoint.heartbeat)',
    )
    .addOption(
      new Option('--format <format>', 'html (one self-contained page), json or md')
        .choices(['html', 'json', 'md'])
        .default('html'),
    )
    .option('--out <file>', 'write the report here instead of to stdout')
    .action(async (o: ReportCliOptions) => {
      const { reportCommand } = await import('./report.js');
      process.exitCode = await reportCommand(o);
    });

  storeOptions(p.command('index'))
    .description(
      "build or update the auditor's index of a stored trail (an SQLite file, a cache outside the trail): the " +
        'first run verifies the whole store as verify does, later runs read only new objects; exit 0, or 1 with ' +
        'the first break (INDEX_STALE: an indexed object changed or vanished)',
    )
    .requiredOption('--index <file>', 'the index file (created when missing)')
    .option('--json', 'print the result as JSON (objects read and skipped, counts)')
    .action(async (o: IndexCliOptions) => {
      const { indexCommand } = await import('./index-update.js');
      process.exitCode = await indexCommand(o);
    });

  p.command('verify-proof')
    .description('check a proof bundle offline (no store): exit 0 when every proof holds, 1 with the code otherwise')
    .argument('<bundle>', 'the proof bundle file written by prove')
    .addOption(publicKeyOption())
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: VerifyProofCliOptions) => {
      const { verifyProofCommand } = await import('./prove.js');
      process.exitCode = verifyProofCommand(file, o);
    });

  p.command('verifier-page')
    .description(
      'write the verifier page (one HTML file that checks a store or a proof bundle in a browser, offline) ' +
        'and print its SHA-256, to compare with the one published for the release',
    )
    .requiredOption('--out <file>', 'write the page here (must not exist)')
    .action(async (o: { out: string }) => {
      const { verifierPageCommand } = await import('./verifier-page.js');
      process.exitCode = verifierPageCommand(o);
    });

  p.command('monitor')
    .description(
      'watch every origin in one or more stores (the fleet monitor): verify each incrementally every interval, ' +
        'report ok, broken, silent, fork or untrusted_key per origin (logs, /metrics, /status); runs until ' +
        'SIGTERM or SIGINT, then finishes its pass and exits 0; exit 2 for a config that cannot be used',
    )
    .requiredOption('-c, --config <file>', 'monitor config file (YAML; docs/configuration.md, "Monitor configuration")')
    .option('--shard <i/n>', "verify only shard i of n of the origins (overrides the config's shard:)")
    .action(async (o: { config: string; shard?: string }) => {
      const { monitorCommand } = await import('./monitor.js');
      process.exitCode = await monitorCommand(o);
    });
  p.command('check-sink')
    .description("run a sink's start-up checks (reachability, credentials, Object Lock) and report")
    .argument('<name>', 'sink name from the config')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (name: string, o: { config: string }) => {
      process.exitCode = await checkSinkCommand(name, o);
    });

  p.command('status')
    .description(
      'show streams, files and their lag, the outbox, sinks and parked objects (works while the daemon runs)',
    )
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--json', 'print JSON')
    .action(async (o: { config: string; json?: boolean }) => {
      process.exitCode = await statusCommand(o);
    });

  p.command('requeue')
    .description('re-queue objects parked after a permanent error or conflict (all sinks, or one)')
    .argument('[sink]', 'sink name')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action((sink: string | undefined, o: { config: string }) => {
      process.exitCode = requeueCommand(sink, o);
    });

  p.command('checkpoint')
    .description("print a stream's newest signed checkpoint from the state database")
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--stream <name>', 'stream name (when there are several)')
    .action((o: { config: string; stream?: string }) => {
      process.exitCode = checkpointCommand(o);
    });
  return p;
}

// A reader that stops reading (`tailseal verify ... | head -1`) is not an error of the command: stop
// quietly with the exit code decided so far, as Unix tools do, instead of an unhandled EPIPE and a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  else process.exitCode = reportError(err);
}
