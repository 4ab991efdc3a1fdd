{{/* Names, labels and shared pieces of the registry chart. */}}

{{- define "registry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "registry.fullname" -}}
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

{{- define "registry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "registry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "registry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "registry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: registry
{{- end -}}

{{- define "registry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret and key holding the database URL. */}}
{{- define "registry.databaseSecret" -}}
{{- if eq .Values.database.mode "cloudnativepg" -}}
{{- printf "%s-db-app" (include "registry.fullname" .) -}}
{{- else if .Values.database.external.existingSecret -}}
{{- .Values.database.external.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "registry.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "registry.databaseSecretKey" -}}
{{- if eq .Values.database.mode "cloudnativepg" -}}uri{{- else -}}{{ .Values.database.external.secretKey }}{{- end -}}
{{- end -}}

{{- define "registry.pepperSecret" -}}
{{- default (printf "%s-key-pepper" (include "registry.fullname" .)) .Values.keyPepper.existingSecret -}}
{{- end -}}

{{/* Environment every registry container shares: the database and the key pepper. */}}
{{- define "registry.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "registry.databaseSecret" . }}
      key: {{ include "registry.databaseSecretKey" . }}
- name: REGISTRY_KEY_PEPPER
  valueFrom:
    secretKeyRef:
      name: {{ include "registry.pepperSecret" . }}
      key: {{ .Values.keyPepper.secretKey }}
- name: REGISTRY_LOG
  value: {{ .Values.server.logLevel | quote }}
{{- end -}}

{{- define "registry.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "registry.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The read-only replica search and exports use, if any (the API only). */}}
{{- define "registry.readEnv" -}}
{{- if eq .Values.database.mode "cloudnativepg" -}}
{{- if .Values.database.cloudnativepg.readFromReplicas }}
- name: REGISTRY_DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "registry.databaseSecret" . }}
      key: username
- name: REGISTRY_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "registry.databaseSecret" . }}
      key: password
- name: REGISTRY_READ_DATABASE_URL
  value: {{ printf "postgresql://$(REGISTRY_DB_USER):$(REGISTRY_DB_PASSWORD)@%s-db-ro:5432/registry" (include "registry.fullname" .) | quote }}
{{- end }}
{{- else if or .Values.database.external.readOnlyExistingSecret .Values.database.external.readOnlyUrl }}
- name: REGISTRY_READ_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-database" (include "registry.fullname" .)) .Values.database.external.readOnlyExistingSecret }}
      key: {{ ternary .Values.database.external.readOnlySecretKey "read-url" (not (empty .Values.database.external.readOnlyExistingSecret)) }}
{{- end }}
{{- end -}}


{{/* Where a sign-in provider's client secret is mounted (the Deployment's oidc-client-secrets volume). */}}
{{- define "registry.oidcSecretDir" -}}/etc/registry/oidc{{- end -}}

{{/* The sign-in providers as REGISTRY_OIDC_PROVIDERS: one
`name=…[,display-name=…],issuer=…,client-id=…[,client-secret-file=…]` per provider, joined by
`;`; empty without providers. Fails on what `registry serve` would refuse at start-up. */}}
{{- define "registry.oidcProviders" -}}
{{- $providers := .Values.server.signIn.providers -}}
{{- if and $providers (not .Values.server.publicUrl) -}}
{{- fail "server.signIn.providers need server.publicUrl: the providers send browsers back to {publicUrl}/auth/callback" -}}
{{- end -}}
{{- $specs := list -}}
{{- $seen := dict -}}
{{- range $i, $p := $providers -}}
{{- $name := default "" $p.name | toString -}}
{{- if not (regexMatch "^[a-z0-9-]{1,40}$" $name) -}}
{{- fail (printf "server.signIn.providers[%d].name %q: must be 1-40 lowercase letters, digits or '-' (it is part of URLs)" $i $name) -}}
{{- end -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "server.signIn.providers: the name %q is given twice" $name) -}}
{{- end -}}
{{- $_ := set $seen $name true -}}
{{- $parts := list (printf "name=%s" $name) -}}
{{- with $p.displayName -}}
{{- $parts = append $parts (printf "display-name=%s" .) -}}
{{- end -}}
{{- $parts = append $parts (printf "issuer=%s" (required (printf "server.signIn.providers[%d].issuer: the provider's issuer URL" $i) $p.issuer)) -}}
{{- $parts = append $parts (printf "client-id=%s" (required (printf "server.signIn.providers[%d].clientId: the registry's client id at the provider" $i) $p.clientId)) -}}
{{- if dig "clientSecret" "existingSecret" "" $p -}}
{{- $parts = append $parts (printf "client-secret-file=%s/%s/client-secret" (include "registry.oidcSecretDir" $) $name) -}}
{{- end -}}
{{- range $parts -}}
{{- if or (contains "," .) (contains ";" .) -}}
{{- fail (printf "server.signIn.providers[%d] (%s): no value may contain ',' or ';'" $i $name) -}}
{{- end -}}
{{- end -}}
{{- $specs = append $specs (join "," $parts) -}}
{{- end -}}
{{- join ";" $specs -}}
{{- end -}}
