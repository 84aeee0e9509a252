// The type every phasewatch dashboard JSON must satisfy: Grafana's published dashboard model
// (@grafana/schema), narrowed where Grafana's own types are open.
//
// - Panels are a union discriminated by `type` over the panel kinds phasewatch uses, each with its
//   plugin's published Options and FieldConfig types: an unknown panel type or a misspelt option is
//   a compile error, not a panel that renders empty.
// - Queries are Prometheus queries (`expr`, `refId`, ...). @grafana/schema does not carry the
//   Prometheus query model (it lives in Grafana's Prometheus plugin), so PromQuery below spells out
//   the fields phasewatch writes, on top of the published DataQuery.
// - JSON cannot carry TypeScript enums: `"mode": "absolute"` is the wire form of
//   ThresholdsMode.Absolute. Json<T> replaces every string enum by the union of its values, which is
//   exactly what Grafana reads from and writes to dashboard JSON; numbers and structure are unchanged.
import type {
  AnnotationQuery,
  DataQuery,
  Dashboard,
  FieldConfigSource,
  Panel,
  RowPanel,
} from '@grafana/schema';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as StateTimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

export type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

export interface PromQuery extends DataQuery {
  expr: string;
  datasource: { type: 'prometheus'; uid: string };
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
  editorMode?: 'code' | 'builder';
}

/** Prometheus annotation: the query sits in `target`, the titles use label templates. */
export interface PromAnnotationQuery extends AnnotationQuery<PromQuery> {
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  step?: string;
  useValueForTime?: boolean;
}

type PanelOf<K extends string, O, F> = Omit<Panel<O, F>, 'type' | 'options' | 'targets' | 'fieldConfig'> & {
  type: K;
  options: O;
  fieldConfig: FieldConfigSource<F>;
  targets: PromQuery[];
};

export type PhasewatchPanel =
  | PanelOf<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>
  | PanelOf<'stat', Stat.Options, Record<string, unknown>>
  | PanelOf<'table', Table.Options, Table.FieldConfig>
  | PanelOf<'state-timeline', StateTimeline.Options, StateTimeline.FieldConfig>;

export type PhasewatchRow = Omit<RowPanel, 'panels'> & { panels: PhasewatchPanel[] };

export type PhasewatchDashboard = Json<
  Omit<Dashboard, 'panels' | 'annotations'> & {
    uid: string;
    title: string;
    panels: Array<PhasewatchPanel | PhasewatchRow>;
    annotations: { list: PromAnnotationQuery[] | Array<AnnotationQuery> };
  }
>;
