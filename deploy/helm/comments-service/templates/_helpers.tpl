{{/* Names and labels. */}}
{{- define "comments-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "comments-service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "comments-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "comments-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "comments-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "comments-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The labels of one component (api, worker, notifier, migration): pass (list $ "api"). */}}
{{- define "comments-service.componentLabels" -}}
{{- $root := index . 0 -}}
{{ include "comments-service.labels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "comments-service.componentSelector" -}}
{{- $root := index . 0 -}}
{{ include "comments-service.selectorLabels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "comments-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "comments-service.workerImage" -}}
{{- if .Values.worker.image.repository -}}
{{- printf "%s:%s" .Values.worker.image.repository (.Values.worker.image.tag | default .Values.image.tag | default .Chart.AppVersion) -}}
{{- else -}}
{{- include "comments-service.image" . -}}
{{- end -}}
{{- end -}}

{{/* The Secret every process reads: the operator's own, or the one this chart creates. */}}
{{- define "comments-service.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "comments-service.fullname" .)) -}}
{{- end -}}

{{/* Render-time checks: a release that could not start fails here, naming the value. */}}
{{- define "comments-service.validate" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- $v := .Values.secrets.values -}}
{{- if lt (len $v.secretKey) 32 -}}
{{- fail "secrets.values.secretKey must be set (at least 32 characters), or secrets.existingSecret must name a Secret holding it: every process and every upgrade must share one COMMENTS_SECRET_KEY, so the chart never generates one" -}}
{{- end -}}
{{- if and $v.secretKeyPrevious (lt (len $v.secretKeyPrevious) 32) -}}
{{- fail "secrets.values.secretKeyPrevious must be at least 32 characters" -}}
{{- end -}}
{{- if not (or (hasPrefix "postgresql://" $v.databaseUrl) (hasPrefix "postgres://" $v.databaseUrl)) -}}
{{- fail "secrets.values.databaseUrl must be set to a postgresql:// URL (or use secrets.existingSecret)" -}}
{{- end -}}
{{- if not (regexMatch "^(redis|rediss|unix)://" $v.redisUrl) -}}
{{- fail "secrets.values.redisUrl must be set to a redis:// or rediss:// URL (or use secrets.existingSecret)" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (lt (len $v.metricsToken) 16) -}}
{{- fail "secrets.values.metricsToken must be set (at least 16 characters) while metrics.serviceMonitor.enabled: /metrics answers other pods only with that bearer token" -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := .Values.env -}}
{{- if has $name (list "COMMENTS_HOST" "COMMENTS_PORT" "COMMENTS_WORKERS" "COMMENTS_WORKER_HOST" "COMMENTS_WORKER_PORT" "COMMENTS_METRICS_HOST" "COMMENTS_METRICS_PORT" "COMMENTS_MIGRATE_ON_START" "COMMENTS_TRUSTED_PROXIES" "COMMENTS_SECRET_KEY" "COMMENTS_SECRET_KEY_PREVIOUS" "COMMENTS_DATABASE_URL" "COMMENTS_REDIS_URL" "COMMENTS_METRICS_TOKEN" "COMMENTS_SMTP_URL") -}}
{{- fail (printf "env.%s is set by the chart (its own value or a Secret): leave it out of env" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A variable from the Secret. Pass (list $ "COMMENTS_NAME" "keyField" optional). */}}
{{- define "comments-service.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "comments-service.secretName" $root }}
      key: {{ index $root.Values.secrets.keys (index . 2) }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The environment every comments_service container shares. Pass (list $ "databaseUrl"): the
key of the Secret that holds this container's COMMENTS_DATABASE_URL. */}}
{{- define "comments-service.env" -}}
{{- $root := index . 0 -}}
{{- range $name, $value := $root.Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
- name: COMMENTS_MIGRATE_ON_START
  value: {{ not $root.Values.migration.enabled | toString | quote }}
- name: XDG_CACHE_HOME
  value: /tmp/cache
{{ include "comments-service.secretEnv" (list $root "COMMENTS_SECRET_KEY" "secretKey" false) }}
{{ include "comments-service.secretEnv" (list $root "COMMENTS_SECRET_KEY_PREVIOUS" "secretKeyPrevious" true) }}
{{ include "comments-service.secretEnv" (list $root "COMMENTS_DATABASE_URL" (index . 1) false) }}
{{ include "comments-service.secretEnv" (list $root "COMMENTS_REDIS_URL" "redisUrl" false) }}
{{ include "comments-service.secretEnv" (list $root "COMMENTS_METRICS_TOKEN" "metricsToken" (not $root.Values.metrics.serviceMonitor.enabled)) }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Secret key holding the migration Job's COMMENTS_DATABASE_URL: the schema owner's where one
is given, else the service's. */}}
{{- define "comments-service.migrationDatabaseKey" -}}
{{- if or .Values.migration.useMigrationDatabaseUrl (and (not .Values.secrets.existingSecret) .Values.secrets.values.migrationDatabaseUrl) -}}
migrationDatabaseUrl
{{- else -}}
databaseUrl
{{- end -}}
{{- end -}}

{{- define "comments-service.podSecurity" -}}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Scheduling of one component: pass its values (.Values.api, ...). */}}
{{- define "comments-service.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
