import { Validator } from "@cfworker/json-schema";
import { contractOf, type ModelContract } from "../../../contracts/model-contracts.ts";

/**
 * An input checked against its model's vendored JSON schema before it is sent: a mismatch
 * between an adapter and a model's contract is a clear, free error here instead of a 422 from
 * Replicate (or a prediction that runs on defaults nobody chose). @cfworker/json-schema
 * interprets the schema (ajv generates code, which workerd does not allow).
 */

export interface InputProblem {
  /** `input.<name>`, as Replicate names fields in its 422 `invalid_fields`. */
  field: string;
  description: string;
}

const validators = new Map<string, Validator>();

function validatorFor(contract: ModelContract): Validator {
  let validator = validators.get(contract.model);
  if (!validator) {
    validator = new Validator(contract.input_schema as never, "2020-12", false);
    validators.set(contract.model, validator);
  }
  return validator;
}

/** Problems of `input` for `model`, empty when it is valid or the model has no vendored contract. */
export function inputProblems(model: string, input: Record<string, unknown>): InputProblem[] {
  const contract = contractOf(model);
  if (!contract) return [];
  const result = validatorFor(contract).validate(input);
  if (result.valid) return [];
  // The innermost errors name the field; the wrappers ("properties", "$ref") only repeat them.
  return result.errors
    .filter((e) => e.keyword !== "properties" && e.instanceLocation !== "#")
    .concat(result.errors.filter((e) => e.instanceLocation === "#" && e.keyword === "required"))
    .map((e) => ({ field: `input${e.instanceLocation.slice(1).replaceAll("/", ".")}`, description: e.error }));
}
