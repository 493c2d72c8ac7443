{{/*
Expand the name of the chart.
*/}}
{{- define "katib-enas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name (truncated to 63 characters, the DNS label limit).
If the release name contains the chart name it is used as the full name.
*/}}
{{- define "katib-enas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version as used by the chart label.
*/}}
{{- define "katib-enas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "katib-enas.labels" -}}
helm.sh/chart: {{ include "katib-enas.chart" . }}
{{ include "katib-enas.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: katib
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "katib-enas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "katib-enas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The service account the registration Jobs run as.
*/}}
{{- define "katib-enas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "katib-enas.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The suggestion image reference.
*/}}
{{- define "katib-enas.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The algorithm names this release registers: ours, plus `enas` when taking it over.
*/}}
{{- define "katib-enas.algorithmNames" -}}
{{- $names := list .Values.algorithm.name }}
{{- if and .Values.algorithm.takeoverEnas (ne .Values.algorithm.name "enas") }}
{{- $names = append $names "enas" }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/*
One `runtime.suggestions` entry of katib-config: Katib's inlined container plus its volume
settings. It must never declare port 6789 or the port name `suggestion-api`: Katib adds both and
refuses an entry that has them.
*/}}
{{- define "katib-enas.suggestionEntry" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $v := $root.Values.suggestion }}
algorithmName: {{ $name }}
image: {{ include "katib-enas.image" $root }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
args:
  - --log-level={{ $v.logLevel }}
  - serve
  - --port=6789
  - --metrics-port={{ $v.metricsPort }}
env:
  # The container's memory limit, exported as katib_enas_memory_limit_bytes (memory panel, alert).
  - name: KATIB_ENAS_MEMORY_LIMIT
    valueFrom:
      resourceFieldRef:
        resource: limits.memory
  # The pod's namespace: Katib injects no env, and the service writes the shared-weights address
  # `<experiment>-<algorithm>.<namespace>:6789` into each trial's assignment (Weight sharing).
  - name: KATIB_ENAS_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  # The one experiment this pod serves (Katib labels suggestion pods with it): its shared-weights
  # store opens for that experiment's trials even before Katib calls, and for no other.
  - name: KATIB_ENAS_EXPERIMENT
    valueFrom:
      fieldRef:
        fieldPath: metadata.labels['katib.kubeflow.org/experiment']
{{- with $v.env }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if gt (int $v.metricsPort) 0 }}
ports:
  - name: metrics
    containerPort: {{ $v.metricsPort }}
    protocol: TCP
{{- end }}
resources:
  {{- toYaml $v.resources | nindent 2 }}
securityContext:
  {{- toYaml $v.securityContext | nindent 2 }}
{{- with $v.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
volumeMountPath: /opt/katib/data
persistentVolumeClaimSpec:
  accessModes:
    {{- toYaml $v.persistence.accessModes | nindent 4 }}
  {{- with $v.persistence.storageClassName }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ $v.persistence.size }}
{{- end }}

{{/*
Every entry this release registers, as a YAML list.
*/}}
{{- define "katib-enas.suggestionEntries" -}}
{{- range (include "katib-enas.algorithmNames" . | fromJsonArray) }}
- {{ include "katib-enas.suggestionEntry" (list $ .) | nindent 2 | trim }}
{{- end }}
{{- end }}
