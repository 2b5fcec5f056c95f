module overlay-gen.invalid/kafkagotrace

go 1.26.0

require (
	github.com/segmentio/kafka-go v0.4.1
	go.opentelemetry.io/otel v1.45.0
	go.opentelemetry.io/otel/trace v1.45.0
	overlay-gen.invalid/otelrt v0.0.0
)

replace overlay-gen.invalid/otelrt => ../runtime
