// The OTLP logs messages, as protobufjs reflection (the JSON descriptor format its `pbjs -t json`
// writes), copied field for field from OpenTelemetry's own definitions:
//   https://github.com/open-telemetry/opentelemetry-proto (Apache-2.0), commit ac2c4b5d1f3a6079de62f9afec860158ecc8af09
//   (v1.11.0-16-gac2c4b5): opentelemetry/proto/{common/v1/common.proto, resource/v1/resource.proto,
//   logs/v1/logs.proto, collector/logs/v1/logs_service.proto}.
// Field names are lowerCamelCase, as protobufjs names them when it parses a .proto and as the
// OTLP/JSON encoding spells them (proto3 JSON names), so one message object serves both encodings.
// Only the messages of a logs export are here; field numbers and types are what the wire uses.
import protobuf from 'protobufjs/light.js';

const KV = 'opentelemetry.proto.common.v1.KeyValue';

/** logs.proto SeverityNumber: UNSPECIFIED = 0, then TRACE, TRACE2..4, DEBUG.., INFO = 9 .., FATAL4 = 24. */
const SEVERITY_NUMBERS: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
for (const [i, level] of ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].entries())
  for (let k = 1; k <= 4; k++) SEVERITY_NUMBERS[`SEVERITY_NUMBER_${level}${k === 1 ? '' : k}`] = i * 4 + k;

/** SEVERITY_NUMBER_INFO: every decision is logged at INFO. */
export const SEVERITY_INFO = 9;

const descriptor = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: {
              nested: {
                v1: {
                  nested: {
                    AnyValue: {
                      oneofs: {
                        value: {
                          oneof: [
                            'stringValue',
                            'boolValue',
                            'intValue',
                            'doubleValue',
                            'arrayValue',
                            'kvlistValue',
                            'bytesValue',
                            'stringValueStrindex',
                          ],
                        },
                      },
                      fields: {
                        stringValue: { type: 'string', id: 1 },
                        boolValue: { type: 'bool', id: 2 },
                        intValue: { type: 'int64', id: 3 },
                        doubleValue: { type: 'double', id: 4 },
                        arrayValue: { type: 'ArrayValue', id: 5 },
                        kvlistValue: { type: 'KeyValueList', id: 6 },
                        bytesValue: { type: 'bytes', id: 7 },
                        stringValueStrindex: { type: 'int32', id: 8 },
                      },
                    },
                    ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
                    KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
                    KeyValue: {
                      fields: {
                        key: { type: 'string', id: 1 },
                        value: { type: 'AnyValue', id: 2 },
                        keyStrindex: { type: 'int32', id: 3 },
                      },
                    },
                    InstrumentationScope: {
                      fields: {
                        name: { type: 'string', id: 1 },
                        version: { type: 'string', id: 2 },
                        attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
                        droppedAttributesCount: { type: 'uint32', id: 4 },
                      },
                    },
                    EntityRef: {
                      fields: {
                        schemaUrl: { type: 'string', id: 1 },
                        type: { type: 'string', id: 2 },
                        idKeys: { rule: 'repeated', type: 'string', id: 3 },
                        descriptionKeys: { rule: 'repeated', type: 'string', id: 4 },
                      },
                    },
                  },
                },
              },
            },
            resource: {
              nested: {
                v1: {
                  nested: {
                    Resource: {
                      fields: {
                        attributes: { rule: 'repeated', type: KV, id: 1 },
                        droppedAttributesCount: { type: 'uint32', id: 2 },
                        entityRefs: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.EntityRef', id: 3 },
                      },
                    },
                  },
                },
              },
            },
            logs: {
              nested: {
                v1: {
                  nested: {
                    ResourceLogs: {
                      fields: {
                        resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
                        scopeLogs: { rule: 'repeated', type: 'ScopeLogs', id: 2 },
                        schemaUrl: { type: 'string', id: 3 },
                      },
                      reserved: [[1000, 1000]],
                    },
                    ScopeLogs: {
                      fields: {
                        scope: { type: 'opentelemetry.proto.common.v1.InstrumentationScope', id: 1 },
                        logRecords: { rule: 'repeated', type: 'LogRecord', id: 2 },
                        schemaUrl: { type: 'string', id: 3 },
                      },
                    },
                    SeverityNumber: { values: SEVERITY_NUMBERS },
                    LogRecord: {
                      fields: {
                        timeUnixNano: { type: 'fixed64', id: 1 },
                        observedTimeUnixNano: { type: 'fixed64', id: 11 },
                        severityNumber: { type: 'SeverityNumber', id: 2 },
                        severityText: { type: 'string', id: 3 },
                        body: { type: 'opentelemetry.proto.common.v1.AnyValue', id: 5 },
                        attributes: { rule: 'repeated', type: KV, id: 6 },
                        droppedAttributesCount: { type: 'uint32', id: 7 },
                        flags: { type: 'fixed32', id: 8 },
                        traceId: { type: 'bytes', id: 9 },
                        spanId: { type: 'bytes', id: 10 },
                        eventName: { type: 'string', id: 12 },
                      },
                      reserved: [[4, 4]],
                    },
                  },
                },
              },
            },
            collector: {
              nested: {
                logs: {
                  nested: {
                    v1: {
                      nested: {
                        ExportLogsServiceRequest: {
                          fields: {
                            resourceLogs: { rule: 'repeated', type: 'opentelemetry.proto.logs.v1.ResourceLogs', id: 1 },
                          },
                        },
                        ExportLogsServiceResponse: {
                          fields: { partialSuccess: { type: 'ExportLogsPartialSuccess', id: 1 } },
                        },
                        ExportLogsPartialSuccess: {
                          fields: {
                            rejectedLogRecords: { type: 'int64', id: 1 },
                            errorMessage: { type: 'string', id: 2 },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export interface OtlpTypes {
  ExportLogsServiceRequest: protobuf.Type;
  ExportLogsServiceResponse: protobuf.Type;
  LogRecord: protobuf.Type;
}

let types: OtlpTypes | undefined;

/** The message types, resolved once (protobufjs checks every type reference here). */
export function otlpTypes(): OtlpTypes {
  if (types) return types;
  const root = protobuf.Root.fromJSON(descriptor);
  root.resolveAll();
  types = {
    ExportLogsServiceRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    ExportLogsServiceResponse: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    LogRecord: root.lookupType('opentelemetry.proto.logs.v1.LogRecord'),
  };
  return types;
}
