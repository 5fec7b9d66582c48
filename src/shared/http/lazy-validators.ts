import AjvCompiler from '@fastify/ajv-compiler'

type BuildValidator = ReturnType<typeof AjvCompiler>
type Validate = ((data: unknown) => unknown) & { errors?: unknown }

/**
 * Fastify's own validator compiler (ajv, with the options given to Fastify), except that each
 * route's schema is compiled when the route first receives a request instead of when the route is
 * registered. Compiling the schemas of all ~200 routes at start took about a second and a half of
 * CPU, paid by every start, every CLI command that builds the app and every test process, most of
 * them for routes they never call. A schema is still compiled once: the first request pays a few
 * milliseconds, later ones nothing. Fastify reads a failed validation's `errors` from the function
 * it was given, so they are copied onto it.
 */
export function lazyValidators(): BuildValidator {
  const buildDefault = AjvCompiler()
  return ((externalSchemas, options) => {
    const compile = buildDefault(externalSchemas, options)
    return (route: Parameters<typeof compile>[0]) => {
      let validate: Validate | undefined
      const lazy: Validate = (data) => {
        validate ??= compile(route) as Validate
        const valid = validate(data)
        lazy.errors = validate.errors
        return valid
      }
      return lazy
    }
  }) as BuildValidator
}
