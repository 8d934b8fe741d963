// Types of scripts/licences.mjs, for the test that imports it.
export interface ProductionDependency {
  name: string;
  version: string;
  licence: string | null;
  installedLicence: string | null;
  optional: boolean;
  path: string;
}
export const DOCUMENT: string;
export function productionDependencies(root?: string): ProductionDependency[];
export function licenceProblem(dependency: ProductionDependency): string | null;
export function renderDocument(dependencies: ProductionDependency[]): string;
