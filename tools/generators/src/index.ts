// @archkit/generators: archkit's local Nx plugin (generators.json). The arch generator and
// the pieces its tests and other tools use.

export { default as archGenerator, addConformanceDependency, newContext, renderScaffolding, CONFORMANCE_PACKAGE, GeneratorError } from './generators/arch/generator.ts';
export type { ArchGeneratorSchema } from './generators/arch/schema.ts';
export { checkName, existingArchModel, newArchModel, type ArchModel, type NewArchModel } from './generators/arch/model.ts';
export { CPU_FAMILIES, familyByAssembler, familyByName, placeholderFamily, type CpuFamily } from './generators/arch/cpus.ts';
export { inlineJson, jsonBlock, renderFile, renderFolder, TEMPLATES } from './generators/arch/render.ts';
