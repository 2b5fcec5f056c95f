module overlay-gen.invalid/slogtrace

go 1.26.0

require go.opentelemetry.io/otel/trace v1.36.0

require go.opentelemetry.io/otel v1.36.0 // indirect

replace overlay-gen.invalid/otelrt => ../runtime
